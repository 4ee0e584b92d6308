import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { BAD_INPUT_CORPUS } from '../../support/bad-input-corpus.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13: every broken input of the corpus is refused by `validate`, `sync --dry-run` and
 * `sync --yes` with exit 1, a message naming the field and the fix, no stack trace, and not
 * one write: the simulators' request logs hold only reads and the connector sandbox and
 * known_hosts are byte for byte as before.
 */
let lab: SimulatedHomelab;
beforeAll(async () => {
  lab = await startSimulatedHomelab({ taskDurationMs: 20 });
});
afterAll(async () => {
  await lab?.close();
});

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else {
        const info = await stat(path).catch(() => undefined);
        out.push(`${path} ${info?.size ?? '?'} ${info?.mtimeMs ?? '?'}`);
      }
    }
  };
  await walk(dir);
  return out.sort();
}

const writes = (requests: { method: string; path: string }[]) =>
  requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);

describe('bad input: refused before the first write', () => {
  for (const c of BAD_INPUT_CORPUS) {
    it(`${c.class}: ${c.name}`, { timeout: 60_000 }, async () => {
      const env = lab.env;
      const undo = await c.apply(lab, env);
      try {
        const sandbox = await snapshot(lab.host.root);
        const knownHosts = await readFile(lab.host.knownHostsPath, 'utf8');
        lab.proxmox.resetRequests();
        const pveBefore = lab.proxmox.requests.length;
        const cfBefore = lab.cloudflare.requests.length;

        const validate = await runCli(lab, ['validate']);
        if (c.validate === 'warns' || c.validate === 'passes') {
          expect(validate.code, validate.stderr).toBe(0);
          if (c.validate === 'warns') expect(validate.stderr).toMatch(c.expect);
        } else {
          expect(validate.code, validate.stdout).toBe(1);
          expect(validate.stderr).toMatch(c.expect);
        }
        for (const args of [
          ['sync', '--dry-run'],
          ['sync', '--yes'],
        ]) {
          const r = await runCli(lab, args);
          expect(r.code, `${args.join(' ')}:\n${r.stdout}${r.stderr}`).toBe(1);
          expect(r.stderr).toMatch(c.expect);
          expect(r.stderr).not.toContain('Internal error');
          expect(r.stderr).not.toMatch(/\n\s+at /);
          for (const secret of [env.PVE_TOKEN_SECRET, env.CLOUDFLARE_API_TOKEN])
            if (secret && secret.length > 8) expect(r.stdout + r.stderr).not.toContain(secret.trim());
        }

        expect(writes(lab.proxmox.requests.slice(pveBefore))).toEqual([]);
        expect(writes(lab.cloudflare.requests.slice(cfBefore))).toEqual([]);
        expect(await snapshot(lab.host.root)).toEqual(sandbox);
        expect(await readFile(lab.host.knownHostsPath, 'utf8')).toBe(knownHosts);
        expect([...lab.proxmox.state.guests.values()].filter((g) => g.config['hostname'] === 'cloudflared')).toEqual([]);
      } finally {
        if (undo) await undo();
      }
    });
  }

  it('the lab still syncs once the inputs are fixed (the corpus left nothing behind)', { timeout: 120_000 }, async () => {
    const r = await runCli(lab, ['sync', '--yes']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });
});

describe('an empty publication (class 5)', () => {
  it('validate warns, and the plan says the tunnel would route nothing', { timeout: 60_000 }, async () => {
    const yaml = await readFile(lab.inventoryFile, 'utf8');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(lab.inventoryFile, yaml.replace(/\nguests:\n[\s\S]*$/, '\nguests: []\n'));
    try {
      const validate = await runCli(lab, ['validate']);
      expect(validate.code).toBe(0);
      expect(validate.stderr).toMatch(/warning: .*no guests: nothing is published/);
      const plan = await runCli(lab, ['sync', '--dry-run', '--allow-mass-delete']); // the lab synced its services above
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(/Warning: the inventory publishes no service/);
    } finally {
      await writeFile(lab.inventoryFile, yaml);
    }
  });
});
