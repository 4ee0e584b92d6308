import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { communityScriptsLxc, installServiceInstall } from '../../../src/demo/pre-existing.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab, writeStandinEdgeConfig } from '../../../src/demo/simulated-homelab.js';
import { loadInventory } from '../../../src/inventory/load.js';
import type { SandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { buildStandinDeb } from '../../../src/sim/standin/build-deb.js';
import { runCli } from '../../support/homelab-cli.js';
import { routeBySshHost, withReplicas } from '../../support/replicas.js';

/**
 * import of a tunnel run by two cloudflared replicas, over real SSH: the demo's connector plays
 * the first (127.0.0.1), a sandbox host of its own the second (reached when 127.0.0.2 is dialled).
 */
let lab: SimulatedHomelab | undefined;
const extra: SandboxHost[] = [];
afterEach(async () => {
  for (const h of extra.splice(0)) await h.close();
  await lab?.close();
  lab = undefined;
});

interface Replica {
  hostname: string;
  vmid?: number;
  sshHost?: string;
}

const connectorOf = async (file: string) =>
  ((await import('yaml')).parse(await readFile(file, 'utf8')) as { connector: { replicas?: Replica[]; ssh: { host?: string } } }).connector;

describe('proxflare import with several --connector', () => {
  it('refuses the same --connector twice before reading anything', { timeout: 60_000 }, async () => {
    lab = await startSimulatedHomelab({ serveOrigins: false });
    const [proxmoxBefore, cloudflareBefore] = [lab.proxmox.requests.length, lab.cloudflare.requests.length];
    const run = await runCli(lab, ['import', '--tunnel', 'homelab', '--connector', '127.0.0.1', '--connector', '127.0.0.1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--connector 127.0.0.1 is given twice; name each connector host once');
    expect([lab.proxmox.requests.length, lab.cloudflare.requests.length]).toEqual([proxmoxBefore, cloudflareBefore]);
  });

  it(
    'a token-run tunnel on two community-scripts LXCs: one replica each, adopted with no route change, then "No changes"',
    { timeout: 240_000 },
    async () => {
      lab = await startSimulatedHomelab({ preExisting: true, taskDurationMs: 50 });
      const tunnel = [...lab.cloudflare.state.tunnels.values()].find((t) => t.name === 'homelab')!;
      // The owner ran the same `cloudflared service install <TOKEN>` on a second community-scripts LXC.
      const second = await startSandboxHost({ cloudflared: false });
      extra.push(second);
      const edge = { edge: lab.cloudflare.edge.connectors, accessCertsUrl: lab.cloudflare.accessCertsUrl };
      await writeStandinEdgeConfig(second.root, edge);
      await installServiceInstall(second, tunnel, await buildStandinDeb(join(second.dir, 'packages'), undefined, { edge }));
      lab.proxmox.state.addGuest({
        ...communityScriptsLxc(),
        vmid: 111,
        name: 'cloudflared-2',
        rootfs: 'local-lvm:vm-111-disk-0,size=2G',
        net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:11,ip=dhcp,type=veth',
        interfaces: [{ name: 'eth0', ipv4: '127.0.0.2/8', hwaddr: 'bc:24:11:00:01:11' }],
      });
      const wrap = routeBySshHost({ '127.0.0.2': second });

      const out = join(lab.dir, 'imported.yaml');
      const imported = await runCli(
        lab,
        ['import', '--tunnel', 'homelab', '--connector', '127.0.0.1', '--connector', '127.0.0.2', '-o', out],
        wrap,
      );
      expect(imported.code, imported.stdout + imported.stderr).toBe(0);
      const text = await readFile(out, 'utf8');
      expect(text).toMatch(/^# {3}connector 127\.0\.0\.1: .*token file \/etc\/cloudflared\/token/m);
      expect(text).toMatch(/^# {3}connector 127\.0\.0\.2: .*token file \/etc\/cloudflared\/token/m);
      expect(text).not.toContain('# NOTE');
      // Both LXCs are found at their addresses, so sync discovers them: no sshHost, no shared ssh.host.
      const connector = await connectorOf(out);
      expect(connector.replicas).toEqual([
        { hostname: 'cloudflared', vmid: 110 },
        { hostname: 'cloudflared-2', vmid: 111 },
      ]);
      expect(connector.ssh.host).toBeUndefined();
      const inventory = await loadInventory(out, { env: lab.env });
      expect(inventory.connectors.map((c) => [c.hostname, c.vmid])).toEqual([
        ['cloudflared', 110],
        ['cloudflared-2', 111],
      ]);
      expect((await runCli(lab, ['-i', out, 'validate'])).code).toBe(0);

      const dry = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--json'], wrap);
      const plan = JSON.parse(dry.stdout) as { conflicts: { address: string }[]; routes: { hostname: string; service: string }[] };
      const ingress = (tunnel.config!.config as { ingress: { hostname?: string; service: string }[] }).ingress.filter((r) => r.hostname);
      expect(plan.routes.map((r) => [r.hostname, r.service]).sort()).toEqual(ingress.map((r) => [r.hostname, r.service]).sort());
      expect(plan.conflicts.map((c) => c.address)).toEqual(['lxc/cloudflared', 'lxc/cloudflared-2', 'tunnel/homelab/configuration']);

      const adopted = await runCli(lab, ['-i', out, 'sync', '--yes', '--adopt'], wrap);
      expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0);
      const after = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--detailed-exitcode'], wrap);
      expect(after.code, after.stdout + after.stderr).toBe(0);
      expect(after.stdout).toContain('No changes.');
      // Both replicas now run from credentials + the same config.yml.
      const config = await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8');
      expect(await readFile(join(second.root, 'etc/cloudflared/config.yml'), 'utf8')).toBe(config);
      expect(config).toContain(`tunnel: ${tunnel.id}`);
    },
  );

  it(
    'a locally-managed tunnel whose replicas serve different config.yml: the first one is imported, the other named in a NOTE',
    { timeout: 240_000 },
    async () => {
      // Each new LXC gets the next of these addresses: cloudflared 127.0.0.1, cloudflared-2 127.0.0.2.
      lab = await startSimulatedHomelab({ taskDurationMs: 50, proxmox: { connectorIp: ['127.0.0.1', '127.0.0.2'] } });
      const second = await startSandboxHost({ cloudflared: false });
      extra.push(second);
      const wrap = routeBySshHost({ '127.0.0.2': second });
      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
      await writeFile(
        lab.inventoryFile,
        withReplicas(lab.inventoryYaml(), [
          '{ hostname: cloudflared, sshHost: 127.0.0.1 }',
          '{ hostname: cloudflared-2, sshHost: 127.0.0.2 }',
        ]),
      );
      const synced = await runCli(lab, ['sync', '--yes'], wrap);
      expect(synced.code, synced.stdout + synced.stderr).toBe(0);
      // pvestatd has reported the new containers; someone edited one replica's config.yml by hand.
      lab.proxmox.pvestatd();
      const secondConfig = join(second.root, 'etc/cloudflared/config.yml');
      const original = await readFile(secondConfig, 'utf8');
      expect(original).toContain('service: http_status:404');
      await writeFile(secondConfig, original.replace('service: http_status:404', 'service: http_status:503'));

      const out = join(lab.dir, 'imported.yaml');
      const imported = await runCli(
        lab,
        ['import', '--tunnel', 'homelab', '--connector', '127.0.0.2', '--connector', '127.0.0.1', '-o', out],
        wrap,
      );
      expect(imported.code, imported.stdout + imported.stderr).toBe(0);
      expect(imported.stdout).toContain('routes from config.yml');
      const text = await readFile(out, 'utf8');
      // The first --connector's config.yml is the one imported: its catch-all 503.
      expect(text).toMatch(/^ {2}catchAll: http_status:503$/m);
      expect(text).toContain(
        "# NOTE: replica cloudflared (127.0.0.1): its config.yml serves another ingress than replica cloudflared-2 (127.0.0.2)'s; cloudflared-2's is imported",
      );
      expect(imported.stderr).toContain('its config.yml serves another ingress');
      // One replica each, in the order given.
      const vmids = new Map([...lab.proxmox.state.guests.values()].map((g) => [String(g.config['hostname']), g.vmid]));
      expect((await connectorOf(out)).replicas).toEqual([
        { hostname: 'cloudflared-2', vmid: vmids.get('cloudflared-2') },
        { hostname: 'cloudflared', vmid: vmids.get('cloudflared') },
      ]);
      const validated = await runCli(lab, ['-i', out, 'validate']);
      expect(validated.code, validated.stdout + validated.stderr).toBe(0);
      // The plan brings the other replica to the imported config.yml (and restarts it), nothing else.
      const dry = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--json'], wrap);
      expect(dry.code, dry.stderr).toBe(0);
      const changes = (JSON.parse(dry.stdout) as { changes: { address: string; action: string }[] }).changes;
      expect(changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`)).toEqual([
        'update file:cloudflared:/etc/cloudflared/config.yml',
        'update unit:cloudflared:cloudflared.service',
      ]);
    },
  );
});
