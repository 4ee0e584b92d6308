import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13, classes 7 and 8, against the sandbox connector over a real sshd: a deploy killed
 * between staging and rename leaves `.<name>.proxflare-tmp.<pid>` files (the credentials one
 * holds the tunnel secret); the next sync plans their removal and removes them. A hand-edited
 * TunnelSecret is an update in the plan, never "No changes". No secret is ever printed.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

const CREDENTIALS = 'etc/cloudflared/credentials.json';

async function stagingFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name.includes('.proxflare-tmp.')) found.push(join(d, e.name).slice(root.length));
    }
  };
  await walk(root);
  return found.sort();
}

/** The stand-in cloudflared SIGKILLs the deploy script at its next config validation (one shot). */
async function killNextDeploy(lab: SimulatedHomelab): Promise<void> {
  await mkdir(join(lab.host.root, 'etc/proxflare-standin'), { recursive: true });
  await writeFile(join(lab.host.root, 'etc/proxflare-standin/kill-deploy'), '');
}

async function tunnelSecret(lab: SimulatedHomelab): Promise<string> {
  return (JSON.parse(await readFile(join(lab.host.root, CREDENTIALS), 'utf8')) as { TunnelSecret: string }).TunnelSecret;
}

function expectNoSecret(text: string, secrets: string[]): void {
  for (const s of secrets) expect(text).not.toContain(s);
}

describe('stale staging files on the connector', () => {
  it('a deploy killed mid-way leaves staging files; the next sync plans and removes them and converges', { timeout: 180_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20 });
    await killNextDeploy(lab);
    const killed = await runCli(lab, ['sync', '--yes']);
    expect(killed.code, killed.stdout + killed.stderr).toBe(1);
    expect(killed.stderr).not.toContain('Internal error');
    const left = await stagingFiles(lab.host.root);
    expect(
      left.some((p) => /^\/etc\/cloudflared\/\.credentials\.json\.proxflare-tmp\.\d+$/.test(p)),
      left.join('\n'),
    ).toBe(true);
    expect(left.some((p) => /^\/etc\/cloudflared\/\.config\.yml\.proxflare-tmp\.\d+$/.test(p))).toBe(true);
    // Not ours (no managed file of that name), so never touched.
    await writeFile(join(lab.host.root, 'etc/cloudflared/.notes.txt.proxflare-tmp.1'), 'mine');
    // Ours, but its deploy shell (the pid in the name: a live process on the same machine) still runs.
    const live = `/etc/cloudflared/.config.yml.proxflare-tmp.${process.pid}`;
    await writeFile(join(lab.host.root, live), 'in progress');

    const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
    expect(plan.code, plan.stdout + plan.stderr).toBe(2);
    for (const p of left) expect(plan.stdout).toContain(`- staging:cloudflared:${p}`);
    expect(plan.stdout).not.toContain('.notes.txt.proxflare-tmp.1');
    expect(plan.stdout).not.toContain(live);
    const json = await runCli(lab, ['sync', '--dry-run', '--json']);
    const kinds = (JSON.parse(json.stdout) as { changes: { kind: string; action: string }[] }).changes.filter(
      (c) => c.kind === 'staging-file',
    );
    expect(kinds.map((c) => c.action)).toEqual(left.map(() => 'delete'));

    const rerun = await runCli(lab, ['sync', '--yes']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await stagingFiles(lab.host.root)).toEqual(['/etc/cloudflared/.notes.txt.proxflare-tmp.1', live].sort());
    const secret = await tunnelSecret(lab);
    for (const out of [killed, plan, json, rerun]) expectNoSecret(out.stdout + out.stderr, [secret]);
    const check = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
    expect(check.code, check.stdout).toBe(0);
    expect([...lab.cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null)).toHaveLength(1);
  });
});

describe('the credentials file, compared by digest', () => {
  it(
    'a hand-edited TunnelSecret is a (sensitive) update, rewritten from the token; nothing secret printed',
    { timeout: 180_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      const first = await runCli(lab, ['sync', '--yes']);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const path = join(lab.host.root, CREDENTIALS);
      const original = await readFile(path, 'utf8');
      const secret = await tunnelSecret(lab);
      const forged = Buffer.alloc(32, 7).toString('base64');
      await writeFile(path, original.replace(secret, forged));

      const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode', '-v']);
      expect(plan.code, plan.stdout + plan.stderr).toBe(2);
      expect(plan.stdout).toContain('~ file:cloudflared:/etc/cloudflared/credentials.json');
      expect(plan.stdout).toMatch(/content differs from what the tunnel token gives/);
      expect(plan.stdout).toContain('content: (sensitive)');
      expectNoSecret(plan.stdout + plan.stderr, [secret, forged]);

      const fix = await runCli(lab, ['sync', '--yes', '-v']);
      expect(fix.code, fix.stdout + fix.stderr).toBe(0);
      expectNoSecret(fix.stdout + fix.stderr, [secret, forged]);
      expect(await readFile(path, 'utf8')).toBe(original);
      const check = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(check.code, check.stdout).toBe(0);
    },
  );

  it(
    'a deploy killed while rewriting tampered credentials: the re-run removes the staged secret and finishes',
    { timeout: 180_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const path = join(lab.host.root, CREDENTIALS);
      const original = await readFile(path, 'utf8');
      await writeFile(path, original.replace(await tunnelSecret(lab), Buffer.alloc(32, 9).toString('base64')));
      await killNextDeploy(lab);
      const killed = await runCli(lab, ['sync', '--yes']);
      expect(killed.code, killed.stdout + killed.stderr).toBe(1);
      expect(killed.stderr).toContain('unit:cloudflared:cloudflared.service');
      const staged = await stagingFiles(lab.host.root);
      expect(staged.some((p) => p.startsWith('/etc/cloudflared/.credentials.json.proxflare-tmp.'))).toBe(true);

      const rerun = await runCli(lab, ['sync', '--yes']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(await stagingFiles(lab.host.root)).toEqual([]);
      expect(await readFile(path, 'utf8')).toBe(original);
      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
    },
  );
});
