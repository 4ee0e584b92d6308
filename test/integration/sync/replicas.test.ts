import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectConnector } from '../../../src/connector/ssh-connector.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { SandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { runCli } from '../../support/homelab-cli.js';
import { routeBySshHost, withHealthTimeout, withReplicas } from '../../support/replicas.js';

/**
 * Two (or three) cloudflared replicas of one tunnel against the simulators, over real SSH:
 * each replica is its own sandbox host (own sshd, own filesystem, own stand-in systemd). The
 * inventory names each replica by a loopback `sshHost`; the test's connect sends 127.0.0.1 to
 * the demo's connector and 127.0.0.2 / 127.0.0.3 to the extra sandboxes.
 */
let lab: SimulatedHomelab | undefined;
const extra: SandboxHost[] = [];
afterEach(async () => {
  for (const h of extra.splice(0)) await h.close();
  await lab?.close();
  lab = undefined;
});

type JsonPlan = { changes: { address: string; action: string; reason: string }[]; warnings: string[] };

describe('connector replicas', () => {
  it(
    'going from one connector to two plans one new LXC and its files, nothing else; both get the same credentials and config',
    { timeout: 240_000 },
    async () => {
      lab = await startSimulatedHomelab({ serveOrigins: false });
      const second = await startSandboxHost({ cloudflared: false });
      extra.push(second);
      const wrap = routeBySshHost({ '127.0.0.2': second });

      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);

      await writeFile(
        lab.inventoryFile,
        withReplicas(lab.inventoryYaml(), [
          '{ hostname: cloudflared, node: pve, sshHost: 127.0.0.1 }',
          '{ hostname: cloudflared-2, node: pve, sshHost: 127.0.0.2 }',
        ]),
      );
      const dry = await runCli(lab, ['sync', '--dry-run', '--json'], wrap);
      expect(dry.code, dry.stderr).toBe(0);
      const plan = JSON.parse(dry.stdout) as JsonPlan;
      const changed = plan.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`);
      expect(changed).toEqual([
        'create lxc/cloudflared-2',
        'create package:cloudflared-2:cloudflared',
        'create file:cloudflared-2:/etc/cloudflared/credentials.json',
        'create file:cloudflared-2:/etc/cloudflared/config.yml',
        'create file:cloudflared-2:/etc/systemd/system/cloudflared.service',
        'create file:cloudflared-2:/usr/local/lib/proxflare/cloudflared-watchdog',
        'create file:cloudflared-2:/etc/systemd/system/proxflare-watchdog.service',
        'create file:cloudflared-2:/etc/systemd/system/proxflare-watchdog.timer',
        'create unit:cloudflared-2:cloudflared.service',
      ]);
      // The first replica's resources are the single connector's, unchanged.
      expect(plan.changes.filter((c) => c.address.includes(':cloudflared:')).every((c) => c.action === 'noop')).toBe(true);
      // Both on node pve: warned, not refused.
      expect(dry.stderr).toMatch(/replicas cloudflared, cloudflared-2 all run on node pve/);

      const applied = await runCli(lab, ['sync', '--yes'], wrap);
      expect(applied.code, applied.stderr).toBe(0);
      const one = join(lab.host.root, 'etc/cloudflared');
      const two = join(second.root, 'etc/cloudflared');
      const config = await readFile(join(one, 'config.yml'), 'utf8');
      expect(await readFile(join(two, 'config.yml'), 'utf8')).toBe(config);
      expect(config).toMatch(/^metrics: 127\.0\.0\.1:20241$/m);
      const tunnelOf = async (dir: string) =>
        (JSON.parse(await readFile(join(dir, 'credentials.json'), 'utf8')) as { TunnelID: string }).TunnelID;
      expect(await tunnelOf(two)).toBe(await tunnelOf(one));
      // Two containers with our tag in the Proxmox simulator.
      const ours = [...lab.proxmox.state.guests.values()].filter((g) => g.type === 'lxc' && /cloudflared/.test(String(g.config.hostname)));
      expect(ours.map((g) => g.config.hostname).sort()).toEqual(['cloudflared', 'cloudflared-2']);

      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], wrap)).code).toBe(0);
    },
  );

  it(
    'a standby replica is created and configured with its unit disabled and stopped; `standby: false` promotes it',
    { timeout: 240_000 },
    async () => {
      lab = await startSimulatedHomelab({ serveOrigins: false });
      const third = await startSandboxHost({ cloudflared: false });
      extra.push(third);
      const wrap = routeBySshHost({ '127.0.0.3': third });
      const inventory = (standby: boolean) =>
        withReplicas(lab!.inventoryYaml(), [
          '{ hostname: cloudflared, sshHost: 127.0.0.1 }',
          `{ hostname: cloudflared-3, sshHost: 127.0.0.3, standby: ${standby} }`,
        ]);
      await writeFile(lab.inventoryFile, inventory(true));
      const first = await runCli(lab, ['sync', '--yes'], wrap);
      expect(first.code, first.stderr).toBe(0);
      const unitState = async () => {
        const host = await connectConnector(third.target());
        try {
          return (await host.readState([], 'cloudflared.service')).unit;
        } finally {
          await host.close();
        }
      };
      expect(await unitState()).toEqual({ enabled: false, active: false });
      expect(await readFile(join(third.root, 'etc/cloudflared/config.yml'), 'utf8')).toBe(
        await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8'),
      );
      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'], wrap)).code).toBe(0);

      await writeFile(lab.inventoryFile, inventory(false));
      const dry = await runCli(lab, ['sync', '--dry-run', '--json'], wrap);
      const changed = (JSON.parse(dry.stdout) as JsonPlan).changes.filter((c) => c.action !== 'noop');
      expect(changed.map((c) => `${c.action} ${c.address}`)).toEqual(['update unit:cloudflared-3:cloudflared.service']);
      expect(changed[0]!.reason).toMatch(/not enabled, not active: enable and \(re\)start/);
      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
      expect(await unitState()).toEqual({ enabled: true, active: true });
    },
  );

  it(
    'destroy stops cloudflared on every replica, removes the files on each, destroys each tagged LXC; a second destroy has nothing to do',
    { timeout: 240_000 },
    async () => {
      lab = await startSimulatedHomelab({ serveOrigins: false, taskDurationMs: 50 });
      const second = await startSandboxHost({ cloudflared: false });
      extra.push(second);
      const wrap = routeBySshHost({ '127.0.0.2': second });
      await writeFile(
        lab.inventoryFile,
        withReplicas(lab.inventoryYaml(), [
          '{ hostname: cloudflared, sshHost: 127.0.0.1 }',
          '{ hostname: cloudflared-2, sshHost: 127.0.0.2 }',
        ]),
      );
      const synced = await runCli(lab, ['sync', '--yes'], wrap);
      expect(synced.code, synced.stderr).toBe(0);

      const dry = await runCli(lab, ['destroy', '--dry-run', '--json'], wrap);
      expect(dry.code, dry.stderr).toBe(0);
      const planned = (JSON.parse(dry.stdout) as JsonPlan).changes.map((c) => c.address);
      const at = (a: string) => planned.indexOf(a);
      for (const r of ['cloudflared', 'cloudflared-2']) {
        // Each replica stopped before the connections are cleaned up; its files and LXC after the tunnel.
        expect(at(`unit:${r}:cloudflared.service`), r).toBeGreaterThan(-1);
        expect(at(`unit:${r}:cloudflared.service`)).toBeLessThan(at('tunnel/homelab/connections'));
        expect(at(`file:${r}:/etc/cloudflared/config.yml`)).toBeGreaterThan(at('tunnel/homelab'));
        expect(at(`lxc/${r}`)).toBeGreaterThan(at(`file:${r}:/etc/cloudflared/config.yml`));
      }

      const destroyed = await runCli(lab, ['destroy', '--yes'], wrap);
      expect(destroyed.code, destroyed.stdout + destroyed.stderr).toBe(0);
      expect(destroyed.stdout).toContain('Re-read after destroy: nothing of tunnel homelab is left.');
      for (const root of [lab.host.root, second.root]) {
        for (const f of ['etc/cloudflared/config.yml', 'etc/cloudflared/credentials.json', 'etc/systemd/system/cloudflared.service']) {
          await expect(readFile(join(root, f), 'utf8'), `${root}/${f}`).rejects.toThrow(/ENOENT/);
        }
      }
      const tagged = [...lab.proxmox.state.guests.values()].filter(
        (g) =>
          g.type === 'lxc' &&
          String(g.config['tags'] ?? '')
            .split(/[;,]/)
            .includes('proxflare'),
      );
      expect(tagged).toEqual([]);
      expect([...lab.cloudflare.state.tunnels.values()].filter((t) => t.name === 'homelab' && t.deleted_at === null)).toEqual([]);
      const again = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode'], wrap);
      expect(again.code, again.stdout + again.stderr).toBe(0);
    },
  );

  describe('rolling a config change', () => {
    const replicas = ['{ hostname: cloudflared, sshHost: 127.0.0.1 }', '{ hostname: cloudflared-2, sshHost: 127.0.0.2 }'];
    const catchAll = (yaml: string) => yaml.replace(/^tunnel:\n {2}name: homelab\n/m, 'tunnel:\n  name: homelab\n  catchAll: 503\n');
    const connectorIds = (l: SimulatedHomelab) => [...l.cloudflare.state.tunnels.values()].flatMap((t) => t.connectors.map((c) => c.id));
    const readyId = async (sandbox: { target(): import('../../../src/ports/connector.js').ConnectTarget }) => {
      const host = await connectConnector(sandbox.target());
      try {
        return await host.readiness();
      } finally {
        await host.close();
      }
    };

    it(
      'restarts one replica at a time, each gated on its /ready and its connector on the connections endpoint',
      { timeout: 240_000 },
      async () => {
        lab = await startSimulatedHomelab({ serveOrigins: false });
        const second = await startSandboxHost({ cloudflared: false });
        extra.push(second);
        const wrap = routeBySshHost({ '127.0.0.2': second });
        await writeFile(lab.inventoryFile, withReplicas(lab.inventoryYaml(), replicas));
        expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
        const before = [(await readyId(lab.host)).connectorId, (await readyId(second)).connectorId];
        expect(before.every((id) => id !== undefined)).toBe(true);
        // Cloudflare lists exactly the two live connectors, under the ids their /ready reports.
        expect(connectorIds(lab).sort()).toEqual([...before].sort());

        // One hostname renamed: its old record goes before any replica drops the rule, the new one
        // comes only after every replica serves it.
        const [renamed, ...rest] = lab.services;
        const newName = `renamed-${renamed!.hostname}`;
        await writeFile(
          lab.inventoryFile,
          catchAll(withReplicas(lab.inventoryYaml([{ ...renamed!, hostname: newName }, ...rest]), replicas)),
        );
        const roll = await runCli(lab, ['sync', '--yes'], wrap);
        expect(roll.code, roll.stderr).toBe(0);
        const log = roll.stderr;
        // DNS changes are reported per zone: the deletes, then (after the roll) the creates.
        const oldRecordGone = log.indexOf('✓ dns/example.com');
        const newRecord = log.lastIndexOf('✓ dns/example.com');
        const firstDeploy = log.indexOf('… unit:cloudflared:cloudflared.service: deploying');
        const lastRestart = log.indexOf('✓ unit:cloudflared-2:cloudflared.service: restarted');
        expect(oldRecordGone, log).toBeGreaterThan(-1);
        expect(oldRecordGone).toBeLessThan(firstDeploy);
        expect(newRecord).toBeGreaterThan(lastRestart);
        const names = [...lab.cloudflare.state.zones.values()].flatMap((z) => [...z.records.values()].map((r) => r.name));
        expect(names).toContain(newName);
        expect(names).not.toContain(renamed!.hostname);
        const firstReady = log.indexOf('✓ unit:cloudflared:cloudflared.service: restarted; /ready 200');
        const firstListed = log.indexOf(`✓ tunnel/homelab: connector `, firstReady);
        const secondStart = log.indexOf('… unit:cloudflared-2:cloudflared.service: deploying and restarting');
        expect(firstReady, log).toBeGreaterThan(-1);
        // The second replica is touched only after the first passed both gates.
        expect(firstListed).toBeGreaterThan(firstReady);
        expect(secondStart).toBeGreaterThan(firstListed);
        expect(log).toMatch(/unit:cloudflared-2:cloudflared\.service: restarted; \/ready 200, 4 ready connections/);
        const after = [(await readyId(lab.host)).connectorId, (await readyId(second)).connectorId];
        expect(after[0]).not.toBe(before[0]);
        expect(after[1]).not.toBe(before[1]);
        expect(connectorIds(lab).sort()).toEqual([...after].sort());
        expect(await readFile(join(second.root, 'etc/cloudflared/config.yml'), 'utf8')).toMatch(/service: http_status:503/);

        const status = await runCli(lab, ['status', '--json'], wrap);
        const replicasSeen = (
          JSON.parse(status.stdout) as {
            replicas: { address: string; service: string; ready: number; connectorId: string; seenByCloudflare: boolean }[];
          }
        ).replicas;
        expect(replicasSeen.map((r) => [r.address, r.service, r.ready, r.connectorId, r.seenByCloudflare])).toEqual([
          ['lxc/cloudflared', 'active', 200, after[0], true],
          ['lxc/cloudflared-2', 'active', 200, after[1], true],
        ]);
      },
    );

    it('a replica that fails its health gate is rolled back, the others are untouched, exit 1', { timeout: 240_000 }, async () => {
      lab = await startSimulatedHomelab({ serveOrigins: false });
      const second = await startSandboxHost({ cloudflared: false });
      extra.push(second);
      const wrap = routeBySshHost({ '127.0.0.2': second });
      await writeFile(lab.inventoryFile, withReplicas(lab.inventoryYaml(), replicas));
      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
      const oldConfig = await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8');
      const secondId = (await readyId(second)).connectorId;

      // The first replica's cloudflared will run but hold no edge connection: /ready answers 503.
      await mkdir(join(lab.host.root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(lab.host.root, 'var/lib/proxflare-standin/cloudflared-no-edge'), '');
      await writeFile(lab.inventoryFile, withHealthTimeout(catchAll(withReplicas(lab.inventoryYaml(), replicas)), 2));
      const roll = await runCli(lab, ['sync', '--yes'], wrap);
      expect(roll.code).toBe(1);
      expect(roll.stderr).toMatch(
        /replica cloudflared did not come back healthy and was rolled back; the apply stopped there and traffic is still served by cloudflared-2, which was not touched/,
      );
      expect(roll.stderr).toMatch(/\/ready answered 503 for 2s/);
      // Rolled back: the old config is in place again on the failed replica.
      expect(await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8')).toBe(oldConfig);
      // Untouched: the second replica has its old config and the same running cloudflared.
      expect(await readFile(join(second.root, 'etc/cloudflared/config.yml'), 'utf8')).toBe(oldConfig);
      expect((await readyId(second)).connectorId).toBe(secondId);
      expect(connectorIds(lab)).toContain(secondId);

      // status names the replica that does not serve.
      const status = await runCli(lab, ['status'], wrap);
      expect(status.stdout).toMatch(
        /lxc\/cloudflared: running at 127\.0\.0\.1; cloudflared\.service active; \/ready 503, 0 ready connections; connector \S+ NOT seen by Cloudflare/,
      );
      expect(status.stdout).toMatch(
        new RegExp(`lxc/cloudflared-2: running .*; /ready 200, 4 ready connections; connector ${secondId} seen by Cloudflare`),
      );
    });
  });
});
