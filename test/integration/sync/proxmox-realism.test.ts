import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';
import { DEMO_SERVICES, type SimulatedHomelab, startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue #11 end to end over real sockets (HTTPS Proxmox simulator, Cloudflare simulator, SSH host):
 * stale /cluster/resources status, a hung guest agent, a fresh node with an empty template cache,
 * and a network change PVE applies to the running connector at once.
 */

let lab: SimulatedHomelab | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await lab?.close();
  lab = undefined;
});

const CONFIG = '/etc/cloudflared/config.yml';
const ourRecords = (l: SimulatedHomelab) =>
  l.cloudflare.state.records('example.com').filter((r) => r.comment?.startsWith('managed by proxflare'));

describe('stale /cluster/resources status', () => {
  for (const statusRefreshMs of [10_000, Infinity]) {
    it(`a dry-run --detailed-exitcode right after apply exits 0 (pvestatd every ${statusRefreshMs} ms)`, { timeout: 120_000 }, async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20, proxmox: { statusRefreshMs } });
      // A stopped connector from an earlier run: pvestatd reported it stopped; sync starts it.
      lab.proxmox.state.addGuest({
        type: 'lxc',
        vmid: 150,
        node: 'pve',
        name: 'cloudflared',
        status: 'stopped',
        tags: ['proxflare'],
        onboot: true,
        rootfs: 'local-lvm:vm-150-disk-0,size=4G',
      });
      const applied = await runCli(lab, ['sync', '--yes']);
      expect(applied.code, applied.stdout + applied.stderr).toBe(0);
      expect(applied.stdout).toContain('Re-read after apply: no changes left.');
      const check = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const ct = lab.proxmox.state.guests.get(150)!;
      expect(ct.status).toBe('running');
      // Without a pvestatd cycle the row still says stopped: the plan used status/current.
      if (statusRefreshMs === Infinity) expect(ct.reported?.status).toBe('stopped');
    });
  }
});

describe('a guest whose agent times out', () => {
  it('leaves the other routes planned and applied; its own route is reported and kept, not deleted', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20, proxmox: { agentTimeoutMs: 0 } });
    const first = await runCli(lab, ['sync', '--yes']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const cloudBefore = ourRecords(lab).find((r) => r.name === 'cloud.example.com');
    expect(cloudBefore).toBeDefined();

    // nextcloud's qemu-ga wedges; at the same time a new route is added for jellyfin.
    lab.proxmox.state.guests.get(200)!.agentHangs = true;
    await writeFile(
      lab.inventoryFile,
      lab.inventoryYaml([...DEMO_SERVICES, { guest: 'jellyfin', hostname: 'tv.example.com', port: 8096 }]),
    );

    const dry = await runCli(lab, ['sync', '--dry-run', '--json']);
    expect(dry.code).toBe(1);
    const plan = JSON.parse(dry.stdout) as {
      unresolved: { guest: string; hostnames: string[]; error: string }[];
      changes: { address: string; action: string }[];
    };
    expect(plan.unresolved).toEqual([
      {
        guest: 'nextcloud',
        hostnames: ['cloud.example.com'],
        error: expect.stringMatching(
          /guest "nextcloud" \(VM 200 on pve\): the QEMU guest agent did not answer in time \(VM 200 qga command 'guest-network-get-interfaces' failed - got timeout\)/,
        ),
      },
    ]);
    expect(plan.changes.filter((c) => c.action !== 'noop').map((c) => c.address)).toContain('dns/tv.example.com');
    expect(plan.changes.find((c) => c.address === 'dns/cloud.example.com')?.action ?? 'noop').toBe('noop');

    const partial = await runCli(lab, ['sync', '--yes']);
    expect(partial.code, partial.stdout + partial.stderr).toBe(1);
    expect(partial.stderr).toMatch(
      /1 guest could not be read, so its routes were left as they are \(not changed, not deleted\):\n {2}- cloud\.example\.com: .*guests\[2\]/,
    );
    expect(partial.stdout).toContain('Apply complete');
    // The new route is live; nextcloud's record and ingress rule are exactly as before.
    expect(ourRecords(lab).map((r) => r.name)).toEqual(
      expect.arrayContaining(['cloud.example.com', 'home.example.com', 'media.example.com', 'tv.example.com', 'vault.example.com']),
    );
    expect(ourRecords(lab).find((r) => r.name === 'cloud.example.com')).toMatchObject({
      id: cloudBefore!.id,
      content: cloudBefore!.content,
    });
    const config = await readFile(join(lab.host.root, CONFIG), 'utf8');
    expect(config).toContain('hostname: tv.example.com');
    expect(config).toMatch(/hostname: cloud\.example\.com\n\s+service: http:\/\/127\.0\.10\.20:8080/);
  });

  it('on a first sync its route is not created, the others are', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20, proxmox: { agentTimeoutMs: 0 } });
    lab.proxmox.state.guests.get(200)!.agentHangs = true;
    const run = await runCli(lab, ['sync', '--yes']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const names = ourRecords(lab).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(['home.example.com', 'media.example.com', 'vault.example.com']));
    expect(names).not.toContain('cloud.example.com');
    expect(await readFile(join(lab.host.root, CONFIG), 'utf8')).not.toContain('cloud.example.com');
  });
});

describe('templates', () => {
  it(
    '`proxflare init` + a fresh node with an empty template cache: the first sync downloads the current template and succeeds',
    { timeout: 120_000 },
    async () => {
      // The template line exactly as `init` writes it.
      const dir = await mkdtemp(join(tmpdir(), 'proxflare-init-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      let out = '';
      const io: CliIo = {
        stdout: (t) => (out += t),
        stderr: (t) => (out += t),
        env: {},
        cwd: dir,
        isTTY: false,
        confirm: async () => false,
        createPorts: () => {
          throw new Error('init needs no ports');
        },
      };
      expect(await main(['node', 'proxflare', 'init'], io), out).toBe(0);
      const templateLine = /^ {2}template: .*$/m.exec(await readFile(join(dir, 'inventory.yaml'), 'utf8'))![0];
      expect(templateLine).toMatch(/^ {2}template: debian-12\b/);

      lab = await startSimulatedHomelab({ taskDurationMs: 20 });
      lab.proxmox.state.storages.get('local')!.templates.clear();
      const inventory = await readFile(lab.inventoryFile, 'utf8');
      await writeFile(lab.inventoryFile, inventory.replace(/^ {2}template: .*$/m, templateLine));

      const dry = await runCli(lab, ['sync', '--dry-run']);
      expect(dry.stdout).toContain('template: debian-12 → local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst');
      expect(dry.stdout).toContain('will be downloaded first');
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const posts = lab.proxmox.requests.filter((r) => r.method === 'POST');
      expect(posts.find((r) => r.path === '/nodes/pve/aplinfo')?.params).toMatchObject({
        storage: 'local',
        template: 'debian-12-standard_12.12-1_amd64.tar.zst',
      });
      expect(posts.find((r) => r.path === '/nodes/pve/lxc')?.params).toMatchObject({
        ostemplate: 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst',
      });
    },
  );
});

/** 127.0.0.2:<port> → 127.0.0.1:<port>: the connector's first address, which can be switched off. */
async function forwardSecondAddress(port: number): Promise<{ close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.2', () => resolve());
  });
  return {
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('network changes are applied live', () => {
  it(
    'a new static address: the plan says "applied live", apply re-reads the address and reconnects SSH there',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ taskDurationMs: 20, proxmox: { connectorIp: '127.0.0.2' } });
      const old = await forwardSecondAddress(lab.host.port);
      cleanups.push(async () => old.close());
      // No fixed ssh.host: proxflare reaches the connector at the address Proxmox reports.
      const inventory = (await readFile(lab.inventoryFile, 'utf8')).replace(/^ {4}host: .*\n/m, '');
      await writeFile(lab.inventoryFile, inventory);
      await appendFile(lab.host.knownHostsPath, `[127.0.0.2]:${lab.host.port} ${lab.host.hostPublicKey}\n`);
      const first = await runCli(lab, ['sync', '--yes']);
      expect(first.code, first.stdout + first.stderr).toBe(0);

      // Static address on the same bridge, plus a new route so apply must write to the connector afterwards.
      const withStatic = (await readFile(lab.inventoryFile, 'utf8')).replace(
        'network: { bridge: vmbr0, ip: dhcp }',
        'network: { bridge: vmbr0, ip: 127.0.0.1/8, gw: 127.0.0.254 }',
      );
      const withRoute = withStatic.replace(
        lab.inventoryYaml().split('guests:\n')[1]!,
        lab.inventoryYaml([...DEMO_SERVICES, { guest: 'jellyfin', hostname: 'tv.example.com', port: 8096 }]).split('guests:\n')[1]!,
      );
      await writeFile(lab.inventoryFile, withRoute);
      const dry = await runCli(lab, ['sync', '--dry-run']);
      expect(dry.stdout).toContain('applied live to the running container: net0');
      expect(dry.stdout).not.toContain('after a container restart');

      // The old address stops answering the moment PVE applies the change, as on a real re-address.
      lab.proxmox.events.on('request', (e: { method: string; path: string }) => {
        if (e.method === 'PUT' && e.path === '/nodes/pve/lxc/100/config') old.close();
      });
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toContain('Re-read after apply: no changes left.');
      expect(await readFile(join(lab.host.root, CONFIG), 'utf8')).toContain('hostname: tv.example.com');
      expect(String(lab.proxmox.state.guests.get(100)!.config.net0)).toMatch(/ip=127\.0\.0\.1\/8/);
    },
  );
});
