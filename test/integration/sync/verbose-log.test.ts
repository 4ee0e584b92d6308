import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13 class 10: `-v` promises "each API call and remote command". Every Proxmox call
 * (method, path, status, duration), every Cloudflare call, and every SSH command (its label,
 * exit, duration) is logged, and none of the secrets (the API tokens, the tunnel secret, the
 * base64 payloads the deploy script carries) appear anywhere in the output.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('-v', () => {
  it('logs each Proxmox call, Cloudflare call and SSH command, and no secret', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20 });
    const run = await runCli(lab, ['sync', '--yes', '-v']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const err = run.stderr;
    const ms = String.raw`\(\d+ ms\)`;
    expect(err).toMatch(new RegExp(String.raw`proxmox POST /nodes/[\w-]+/lxc → 200 ${ms}`));
    expect(err).toMatch(new RegExp(String.raw`proxmox GET /nodes/[\w-]+/tasks/[^ ]+/status → 200 ${ms}`));
    expect(err).toMatch(new RegExp(String.raw`cloudflare POST /client/v4/accounts/\w+/cfd_tunnel → 200 ${ms}`));
    expect(err).toMatch(new RegExp(String.raw`ssh \S+ connect → connected ${ms}`));
    expect(err).toMatch(new RegExp(String.raw`ssh \S+ take the connector lock 'tunnel-homelab' → held ${ms}`));
    expect(err).toMatch(
      new RegExp(
        String.raw`ssh \S+ deploy /etc/cloudflared/credentials\.json, /etc/cloudflared/config\.yml, /etc/systemd/system/cloudflared\.service[^→\n]* → exit status 0 ${ms}`,
      ),
    );
    expect(err).toMatch(new RegExp(String.raw`ssh \S+ read connector state → exit status 0 ${ms}`));

    const credentials = await readFile(join(lab.host.root, 'etc/cloudflared/credentials.json'), 'utf8');
    const tunnelSecret = (JSON.parse(credentials) as { TunnelSecret: string }).TunnelSecret;
    const secrets = [
      lab.env.PVE_TOKEN_SECRET!,
      lab.env.CLOUDFLARE_API_TOKEN!,
      tunnelSecret,
      Buffer.from(credentials).toString('base64').slice(0, 40),
    ];
    for (const s of secrets) expect(run.stdout + run.stderr).not.toContain(s);
    // No script bodies: the deploy's heredoc markers never show.
    expect(err).not.toContain('PROXFLARE_EOF');
    expect(err).not.toContain('base64 -d');
  });
});
