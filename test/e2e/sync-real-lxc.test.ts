/**
 * Issue 4/5 e2e: `proxflare sync` end to end with a real container. The Proxmox simulator's
 * LXC create boots a Debian 12 container with systemd on a bridge this test creates; proxflare
 * creates it through the API, learns its real IP, connects over SSH (trust on first use), installs
 * the stand-in cloudflared .deb, writes config + credentials + unit, and systemd runs the service.
 * Only the two cloud APIs are simulated. The guest origin is an HTTP server on the bridge's host
 * address (an address this test created).
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import { createCloudflare } from '../../src/cloudflare/create-cloudflare.js';
import { connectConnector } from '../../src/connector/ssh-connector.js';
import { createProxmox } from '../../src/proxmox/create-proxmox.js';
import { createE2eEnvironment, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend, type RealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { startCloudflareSim, type CloudflareSim } from '../../src/sim/cloudflare/start-cloudflare-sim.js';
import { startProxmoxSim, type ProxmoxSim } from '../../src/sim/proxmox/start-proxmox-sim.js';
import { DEMO_TEMPLATE, demoSeed } from '../../src/sim/proxmox/seed.js';
import { buildStandinDeb } from '../../src/sim/standin/build-deb.js';
import { request } from 'node:http';
import { containerGate } from './support/prerequisites.js';
import { generateKeyPair } from './support/ssh.js';

const gate = await containerGate('e2e: proxflare sync into a real container');

describe.skipIf(gate.skip)('proxflare sync with a real connector container', () => {
  let environment: E2eEnvironment | undefined;
  let backend: RealLxcBackend;
  let pve: ProxmoxSim | undefined;
  let cf: CloudflareSim | undefined;
  let origin: Server | undefined;
  let dir: string;
  let inventoryFile: string;
  let env: NodeJS.ProcessEnv;

  const inventory = (extra = '') => `
proxmox:
  url: ${pve!.url}
  tokenId: \${PVE_TOKEN_ID}
  tokenSecret: \${PVE_TOKEN_SECRET}
  fingerprint: "${pve!.fingerprint}"
  node: pve
cloudflare:
  apiToken: \${CLOUDFLARE_API_TOKEN}
  accountId: ${cf!.accountId}
  zone: example.com
  baseUrl: ${cf!.url}
tunnel:
  name: e2e
connector:
  hostname: cloudflared
  template: local:vztmpl/${DEMO_TEMPLATE}
  storage: local-lvm
  ssh:
    privateKey: ${join(dir, 'id_ed25519')}
    knownHosts: ${join(dir, 'known_hosts')}
    trustOnFirstUse: true
  cloudflared:
    source: deb
    path: ${join(dir, 'cloudflared.deb')}
guests:
  - name: web
    type: lxc
    vmid: 101
    ip: ${environment!.bridge.hostAddress}
    services:
      - hostname: web.example.com
        port: 18080
${extra}`;

  async function cli(...args: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const io: CliIo = {
      stdout: (t) => (out += t),
      stderr: (t) => (out += t),
      env,
      cwd: dir,
      isTTY: false,
      confirm: async () => false,
      createPorts: (inv, reporter) => {
        const proxmox = createProxmox(inv.proxmox, { reporter, taskPollMs: 200 });
        // The stand-in cloudflared in the container dials the simulated edge over the test bridge itself.
        const connect = (target: Parameters<typeof connectConnector>[0]) => connectConnector(target);
        return { proxmox, cloudflare: createCloudflare(inv.cloudflare, { reporter }), connect, close: () => proxmox.close() };
      },
    };
    const code = await main(['node', 'proxflare', '-i', inventoryFile, '--no-color', ...args], io);
    return { code, out };
  }

  async function inContainer(command: string): Promise<string> {
    const container = backend.container(connectorVmid())!;
    const result = await environment!.exec(container, command);
    return result.stdout.trim();
  }

  function connectorVmid(): number {
    const lxc = [...pve!.state.guests.values()].find((g) => g.type === 'lxc' && g.config['hostname'] === 'cloudflared');
    if (!lxc) throw new Error('no connector LXC in the simulator');
    return lxc.vmid;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxflare-e2e-sync-'));
    environment = await createE2eEnvironment({ tag: 'sync', subnet: '10.231.7' });
    backend = createRealLxcBackend({ environment });
    pve = await startProxmoxSim({ seed: demoSeed(), backend, taskDurationMs: 5 });
    // The edge listens on the bridge's host address (created by this run), so the container reaches it.
    cf = await startCloudflareSim({ zones: [{ name: 'example.com' }], edgeHost: environment.bridge.hostAddress });
    const key = generateKeyPair();
    await writeFile(join(dir, 'id_ed25519'), key.privateKey, { mode: 0o600 });
    await writeFile(join(dir, 'id_ed25519.pub'), `${key.publicKey}\n`);
    const deb = await buildStandinDeb(join(dir, 'deb'), undefined, { edge: { edge: cf.edge.connectors } });
    await copyFile(deb, join(dir, 'cloudflared.deb'));
    origin = createServer((_req, res) => res.end('web origin\n'));
    await new Promise<void>((r) => origin!.listen(18080, environment!.bridge.hostAddress, () => r()));
    env = {
      PVE_TOKEN_ID: pve.tokens[0]!.id,
      PVE_TOKEN_SECRET: pve.tokens[0]!.secret,
      CLOUDFLARE_API_TOKEN: cf.token,
      PROXFLARE_LOCK_DIR: dir,
      PROXFLARE_PUBLIC_EDGE: cf.edge.url,
    };
    inventoryFile = join(dir, 'inventory.yaml');
    await writeFile(inventoryFile, inventory());
  }, 20 * 60_000);

  afterAll(async () => {
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    await pve?.close();
    await cf?.close();
    await environment?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it(
    'creates the connector container and runs cloudflared under systemd; a second sync changes nothing',
    async () => {
      const first = await cli('sync', '--yes');
      expect(first.code, first.out).toBe(0);
      expect(first.out).toContain('Re-read after apply: no changes left.');
      // The restarted connector, as the connections endpoint lists it.
      // The connector the container's cloudflared registered with the edge, as the connections endpoint lists it.
      expect(first.out).toMatch(/✓ tunnel\/e2e: connector [0-9a-f-]{36} \(cloudflared 2026\.8\.2-standin\), 4 connections/);
      const [listed] = [...cf!.state.tunnels.values()].filter((t) => t.deleted_at === null).map((t) => t.connectors);
      expect(listed).toHaveLength(1);
      expect(listed![0]!.conns[0]!.origin_ip).not.toBe(environment!.bridge.hostAddress);

      expect(await inContainer('systemctl is-active cloudflared')).toBe('active');
      expect(await inContainer('systemctl is-enabled cloudflared')).toBe('enabled');
      expect(await inContainer('stat -c %a /etc/cloudflared/credentials.json')).toBe('600');
      expect(await inContainer('cat /etc/cloudflared/config.yml')).toContain(`service: http://${environment!.bridge.hostAddress}:18080`);
      expect(await inContainer('cloudflared --version')).toContain('standin');
      const started = await inContainer('systemctl show -p ActiveEnterTimestamp --value cloudflared');

      const again = await cli('sync', '--dry-run', '--detailed-exitcode');
      expect(again.code, again.out).toBe(0);
      expect(again.out).toContain('No changes.');
      const second = await cli('sync', '--yes');
      expect(second.code, second.out).toBe(0);
      expect(await inContainer('systemctl show -p ActiveEnterTimestamp --value cloudflared')).toBe(started);

      const status = await cli('status');
      expect(status.code, status.out).toBe(0);
      expect(status.out).toMatch(/web\.example\.com\s+ok\s+http:\/\/10\.231\.7\.1:18080\s+up/);
      expect(status.out).toContain('cloudflared.service active');

      // A visitor's request: edge → the container's connection → its config.yml → the origin on the bridge.
      const edge = new URL(cf!.edge.url);
      const visit = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: edge.hostname, port: edge.port, path: '/', headers: { host: 'web.example.com' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(visit).toEqual({ status: 200, body: 'web origin\n' });
      const pub = await cli('status', '--public');
      expect(pub.out).toMatch(/https:\/\/web\.example\.com\/ +200 +ok/);
    },
    15 * 60_000,
  );

  it(
    'a config change restarts the service; a config cloudflared would reject never reaches the host and the service keeps running',
    async () => {
      const before = await inContainer('systemctl show -p ActiveEnterTimestamp --value cloudflared');
      await writeFile(inventoryFile, inventory('      - hostname: api.example.com\n        port: 18080\n        path: ^/api/\n'));
      const changed = await cli('sync', '--yes');
      expect(changed.code, changed.out).toBe(0);
      await new Promise((r) => setTimeout(r, 1100)); // timestamps have one-second resolution
      const after = await inContainer('systemctl show -p ActiveEnterTimestamp --value cloudflared');
      expect(after).not.toBe(before);
      expect(await inContainer('cat /etc/cloudflared/config.yml')).toContain('hostname: api.example.com');

      // A template override rendering a rule cloudflared rejects is refused before it reaches the host.
      const templates = join(dir, 'templates');
      await mkdir(templates, { recursive: true });
      const goodConfig = await inContainer('cat /etc/cloudflared/config.yml');
      await writeFile(
        join(templates, 'config.yml.hbs'),
        '{{header}}\ntunnel: {{tunnelId}}\ncredentials-file: {{credentialsFile}}\ningress:\n  - hostname: bad.example.com:8080\n    service: http://10.0.0.1:1\n  - service: http_status:404\n',
      );
      const broken = await cli('sync', '--yes', '--templates', templates);
      expect(broken.code).toBe(1);
      expect(await inContainer('systemctl is-active cloudflared')).toBe('active');
      expect(await inContainer('cat /etc/cloudflared/config.yml')).toBe(goodConfig);
    },
    10 * 60_000,
  );

  it(
    'doctor and status --json against the real container',
    async () => {
      const doctor = await cli('doctor', '--json');
      expect(doctor.code, doctor.out).toBe(0);
      const report = JSON.parse(doctor.out.slice(doctor.out.indexOf('{\n'))) as {
        ok: boolean;
        checks: { id: string; status: string; detail: string }[];
      };
      expect(report.ok).toBe(true);
      const byId = new Map(report.checks.map((c) => [c.id, c]));
      expect(byId.get('connector:cloudflared.ssh')?.status).toBe('ok');
      expect(byId.get('connector:cloudflared.cloudflared')?.detail).toMatch(/^cloudflared 2026\.8\.2-standin installed$/);
      expect(byId.get('connector:cloudflared.ready')?.detail).toMatch(/^200, 4 edge connections/);
      expect(byId.get('connector:cloudflared.clock')?.status).toBe('ok');
      const status = await cli('status', '--json');
      expect(status.code, status.out).toBe(0);
      const json = JSON.parse(status.out.slice(status.out.indexOf('{\n'))) as {
        overall: { state: string };
        replicas: { servesCurrentConfig: boolean; version: string }[];
      };
      expect(json.overall.state).toBe('healthy');
      expect(json.replicas[0]).toMatchObject({ servesCurrentConfig: true, version: '2026.8.2-standin' });
    },
    5 * 60_000,
  );

  it(
    'the watchdog under real systemd: its timer runs; a cloudflared without edge connections is restarted after 3 failed checks',
    async () => {
      expect(await inContainer('systemctl is-enabled proxflare-watchdog.timer')).toBe('enabled');
      expect(await inContainer('systemctl is-active proxflare-watchdog.timer')).toBe('active');
      // Debian 12's systemd 252 knows no RestartSteps=: the unit keeps the fixed RestartSec=5s.
      expect(await inContainer('systemctl --version | head -n 1')).toMatch(/^systemd 252\b/);
      expect(await inContainer('cat /etc/systemd/system/cloudflared.service')).not.toContain('RestartSteps');
      // Each check is one run of the watchdog service, started by hand (the timer is paused so it does not count too).
      await inContainer('systemctl stop proxflare-watchdog.timer; rm -f /var/lib/proxflare/watchdog.state');
      const check = async () => {
        await inContainer('systemctl start proxflare-watchdog.service');
        return inContainer('cat /var/lib/proxflare/watchdog.state');
      };
      expect(await check()).toBe('0 0 0');
      const pid = await inContainer('systemctl show -p MainPID --value cloudflared');
      await inContainer('mkdir -p /var/lib/proxflare-standin && touch /var/lib/proxflare-standin/cloudflared-no-edge');
      expect(await check()).toBe('1 0 0');
      expect(await check()).toBe('2 0 0');
      expect(await check()).toMatch(/^3 1 \d+$/);
      expect(await inContainer('systemctl show -p MainPID --value cloudflared')).not.toBe(pid);
      expect(await inContainer('journalctl -u proxflare-watchdog.service --no-pager -o cat')).toContain(
        'restarting cloudflared.service (restart 1; the next one not before 5 s)',
      );
      await inContainer('rm -f /var/lib/proxflare-standin/cloudflared-no-edge');
      expect(await check()).toBe('0 0 0');
      await inContainer('systemctl start proxflare-watchdog.timer');
      expect(await inContainer('systemctl is-active cloudflared')).toBe('active');
    },
    10 * 60_000,
  );
});
