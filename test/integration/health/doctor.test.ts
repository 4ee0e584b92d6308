import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { DEMO_SERVICES, startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { PERMISSIONS } from '../../../src/sim/cloudflare/sim-state.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * `proxflare doctor` against the simulators and the sandbox connector (real sshd): one run
 * where everything passes, then each failing check with its fix. Exit 0 only when nothing fails.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

type Check = { id: string; status: string; detail: string; fix?: string };
type Report = { ok: boolean; checks: Check[] };

async function doctor(l: SimulatedHomelab): Promise<{ code: number; report: Report; stderr: string }> {
  const run = await runCli(l, ['doctor', '--json']);
  return { code: run.code, report: JSON.parse(run.stdout) as Report, stderr: run.stderr };
}
const byId = (r: Report, id: string) => {
  const c = r.checks.find((x) => x.id === id);
  expect(c, `${id} in ${r.checks.map((x) => x.id).join(', ')}`).toBeDefined();
  return c!;
};

describe('proxflare doctor', () => {
  it('passes every check on a synced homelab, exit 0; the text output lists each check', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false });
    // Before the first sync: the connector does not exist yet, which is not a failure.
    const before = await doctor(lab);
    expect(before.code, JSON.stringify(before.report, null, 1)).toBe(0);
    expect(byId(before.report, 'connector:cloudflared.ssh')).toMatchObject({
      status: 'skip',
      detail: expect.stringMatching(/does not exist yet/),
    });
    expect(byId(before.report, 'cloudflare.tunnel').detail).toMatch(/not found .*sync creates it/);

    expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
    const { code, report } = await doctor(lab);
    expect(code, JSON.stringify(report, null, 1)).toBe(0);
    expect(report.ok).toBe(true);
    const statuses = Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
    expect(statuses).toEqual({
      inventory: 'ok',
      'proxmox.api': 'ok',
      'proxmox.privileges': 'ok',
      'proxmox.nodes': 'ok',
      'cloudflare.token': 'ok',
      'cloudflare.zone:example.com': 'ok',
      'cloudflare.tunnel': 'ok',
      'connector:cloudflared.ssh': 'ok',
      'connector:cloudflared.cloudflared': 'ok',
      'connector:cloudflared.unit': 'ok',
      'connector:cloudflared.ready': 'ok',
      'connector:cloudflared.clock': 'ok',
    });
    expect(byId(report, 'proxmox.api').detail).toMatch(
      /Proxmox VE 9\.1, token proxflare@pve!demo accepted, certificate matches proxmox\.fingerprint/,
    );
    expect(byId(report, 'cloudflare.tunnel').detail).toMatch(/found \(id [0-9a-f-]+\); Tunnel Read and Tunnel Edit present/);
    expect(byId(report, 'connector:cloudflared.cloudflared').detail).toBe('cloudflared 2026.8.2-standin installed');
    expect(byId(report, 'connector:cloudflared.ready').detail).toMatch(/^200, 4 edge connections/);

    const text = await runCli(lab, ['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^✓ Proxmox API at https:\/\/127\.0\.0\.1:\d+: Proxmox VE 9\.1/m);
    expect(text.stdout).toMatch(/All checks passed \(12 ok, 0 warnings, 0 skipped\)\./);
    // Secrets never appear.
    expect(text.stdout + text.stderr).not.toContain(lab.env.PVE_TOKEN_SECRET!);
    expect(text.stdout + text.stderr).not.toContain(lab.env.CLOUDFLARE_API_TOKEN!);
  });

  it('an invalid inventory is a failed check naming the line, exit 1', { timeout: 60_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false });
    await writeFile(lab.inventoryFile, lab.inventoryYaml().replace('  storage: local-lvm\n', '  storage: local-lvm\n  memmory: 512\n'));
    const { code, report } = await doctor(lab);
    expect(code).toBe(1);
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ id: 'inventory', status: 'fail', fix: expect.stringMatching(/proxflare validate/) });
    expect(report.checks[0]!.detail).toMatch(/inventory\.yaml:\d+:\d+.*memmory/);
  });

  it('Proxmox: a wrong fingerprint, then a missing privilege, each fails with its fix', { timeout: 60_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false });
    const yaml = lab.inventoryYaml();
    await writeFile(lab.inventoryFile, yaml.replace(/fingerprint: "[^"]+"/, `fingerprint: "${'AB:'.repeat(31)}AB"`));
    const pinned = await doctor(lab);
    expect(pinned.code).toBe(1);
    expect(byId(pinned.report, 'proxmox.api')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/fingerprint/i),
      fix: expect.stringMatching(/\S/),
    });
    expect(byId(pinned.report, 'proxmox.privileges').status).toBe('skip');

    await writeFile(lab.inventoryFile, yaml);
    const token = [...lab.proxmox.state.tokens.values()][0]!;
    token.acl['/'] = token.acl['/']!.filter((p) => p !== 'VM.PowerMgmt' && p !== 'SDN.Use');
    const { code, report } = await doctor(lab);
    expect(code).toBe(1);
    expect(byId(report, 'proxmox.api').status).toBe('ok');
    expect(byId(report, 'proxmox.privileges')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/lacks VM\.PowerMgmt on \/vms .*; SDN\.Use on \/sdn\/zones\/localnetwork\/vmbr0/),
      fix: expect.stringContaining('pveum role modify ProxflareLXC --append 1 --privs "VM.PowerMgmt,SDN.Use"'),
    });
  });

  it('Cloudflare: an unknown token, then one without tunnel permissions, each fails with its fix', { timeout: 60_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false });
    lab.env.CLOUDFLARE_API_TOKEN = 'not-a-real-token';
    const bad = await doctor(lab);
    expect(bad.code).toBe(1);
    expect(byId(bad.report, 'cloudflare.token')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/Invalid API Token/),
      fix: expect.stringMatching(/CLOUDFLARE_API_TOKEN/),
    });
    expect(byId(bad.report, 'cloudflare.tunnel').status).toBe('skip');

    lab.cloudflare.state.tokens.set('dns-only-token', {
      token: 'dns-only-token',
      permissions: [PERMISSIONS.zoneRead, PERMISSIONS.dnsEdit],
    });
    lab.env.CLOUDFLARE_API_TOKEN = 'dns-only-token';
    const { code, report } = await doctor(lab);
    expect(code).toBe(1);
    expect(byId(report, 'cloudflare.token').status).toBe('ok');
    expect(byId(report, 'cloudflare.zone:example.com').status).toBe('ok');
    expect(byId(report, 'cloudflare.tunnel')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/Tunnel/) });
  });

  it('Access: no Zero Trust organization fails with the one manual step', { timeout: 60_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false, accessTeam: null });
    const services = DEMO_SERVICES.map((s) => (s.hostname === 'home.example.com' ? { ...s, access: 'admins' } : s));
    await writeFile(lab.inventoryFile, lab.inventoryYaml(services, 'access:\n  policies:\n    admins:\n      emails: [me@example.com]\n'));
    const { code, report } = await doctor(lab);
    expect(code).toBe(1);
    expect(byId(report, 'cloudflare.access')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/no Zero Trust organization/),
      fix: expect.stringMatching(/Zero Trust/),
    });
  });

  it(
    'connector: a cloudflared without edge connections, a stopped unit, a skewed clock and a changed host key each fail with their fix',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ serveOrigins: false });
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const root = lab.host.root;

      // The connector's clock is ten minutes ahead (a `date` first on its PATH).
      await mkdir(join(root, 'usr/local/bin'), { recursive: true });
      await writeFile(
        join(root, 'usr/local/bin/date'),
        '#!/bin/sh\nif [ "$1" = +%s ]; then echo $(( $(/bin/date +%s) + 600 )); else exec /bin/date "$@"; fi\n',
      );
      await chmod(join(root, 'usr/local/bin/date'), 0o755);
      // cloudflared restarted under the no-edge fault: running, /ready 503.
      await mkdir(join(root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(root, 'var/lib/proxflare-standin/cloudflared-no-edge'), '');
      let r = await doctor(lab);
      expect(r.code).toBe(1);
      expect(byId(r.report, 'connector:cloudflared.ready')).toMatchObject({
        status: 'fail',
        detail: 'HTTP 503: no edge connection',
        fix: expect.stringMatching(/outbound TCP\/UDP 7844/),
      });
      expect(byId(r.report, 'connector:cloudflared.clock')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/^(599|600|601) s ahead of this machine$/),
        fix: expect.stringMatching(/NTP on the Proxmox node/),
      });

      // The unit stopped.
      const { connectConnector } = await import('../../../src/connector/ssh-connector.js');
      const host = await connectConnector(lab.host.target());
      await host.stopService('cloudflared.service');
      await host.close();
      r = await doctor(lab);
      expect(byId(r.report, 'connector:cloudflared.unit')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/inactive, disabled/),
        fix: expect.stringMatching(/journalctl -u cloudflared/),
      });
      expect(byId(r.report, 'connector:cloudflared.ready')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/nothing answers/),
      });

      // Another host key than the pinned one.
      const known = await readFile(lab.host.knownHostsPath, 'utf8');
      await writeFile(
        lab.host.knownHostsPath,
        known.replace(/ssh-ed25519 \S+/, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxQm6m0n2zJc2Wm1m2y0c8pZ0u8cQk9m3Jr1dYb9x5a'),
      );
      r = await doctor(lab);
      expect(r.code).toBe(1);
      expect(byId(r.report, 'connector:cloudflared.ssh')).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(/host key/i),
        fix: expect.stringMatching(/\S/),
      });
      expect(byId(r.report, 'connector:cloudflared.ready').status).toBe('skip');
    },
  );
});
