import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { CloudflareSim } from '../sim/cloudflare/start-cloudflare-sim.js';
import { startCloudflareSim } from '../sim/cloudflare/start-cloudflare-sim.js';
import type { ProxmoxSim, ProxmoxSimOptions } from '../sim/proxmox/start-proxmox-sim.js';
import { startProxmoxSim } from '../sim/proxmox/start-proxmox-sim.js';
import type { SimGuestSeed, SimSeed } from '../sim/proxmox/seed.js';
import { DEMO_TEMPLATE, demoSeed } from '../sim/proxmox/seed.js';
import type { SandboxHost } from '../sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../sim/ssh/sandbox-host.js';
import { buildStandinDeb, type StandinEdgeConfig } from '../sim/standin/build-deb.js';
import { PUBLIC_EDGE_CA_ENV, PUBLIC_EDGE_ENV } from '../status/public-check.js';
import type { Ports } from '../sync/ports.js';
import type { OriginServers } from './origin-servers.js';
import { communityScriptsLxc, seedPreExisting } from './pre-existing.js';
import { sandboxPorts } from './sandbox-ports.js';
import { startOriginServers } from './origin-servers.js';

export const DEMO_ZONE = 'example.com';

export interface DemoService {
  guest: string;
  hostname: string;
  port: number;
  scheme?: 'http' | 'https';
  /** `access:` of the service (a policy name). */
  access?: string;
}

/** The demo's four guests, as the Proxmox simulator's demo seed knows them. */
export const DEMO_SERVICES: DemoService[] = [
  { guest: 'jellyfin', hostname: 'media.example.com', port: 8096 },
  { guest: 'vaultwarden', hostname: 'vault.example.com', port: 8080 },
  { guest: 'nextcloud', hostname: 'cloud.example.com', port: 8080 },
  { guest: 'homeassistant', hostname: 'home.example.com', port: 8123 },
];

/** A machine outside Proxmox the demo publishes through `hosts:` (its origin is served on loopback too). */
export interface DemoHost {
  name: string;
  address: string;
  hostname: string;
  port: number;
}

/** The demo's one host: a "NAS" on a loopback alias, reached by address without any Proxmox lookup. */
export const DEMO_HOSTS: DemoHost[] = demoHosts(10);

/** The demo's LAN hosts, on 127.0.<guest net + 10>.x. */
function demoHosts(guestNet: number): DemoHost[] {
  return [{ name: 'nas', address: `127.0.${guestNet + 10}.1`, hostname: 'nas.example.com', port: 5000 }];
}

export interface SimulatedHomelabOptions {
  /**
   * Third octet of the demo guests' loopback addresses (default 10: 127.0.10.x, hosts on
   * 127.0.20.x). Homelabs that serve origins at the same time (two test files in parallel)
   * need different nets, or their origin servers collide on the same address and port.
   */
  originNet?: number;
  /** Generated guests (one service each) instead of the demo's four. */
  guests?: number;
  /** Latency added to every simulated API request. */
  latencyMs?: number;
  /** Unrelated DNS records seeded into the zone. */
  unrelatedRecords?: number;
  /** Serve the guests' origins on loopback (the demo's `status` checks them). */
  serveOrigins?: boolean;
  /** Origins to serve besides the inventory's services (services about to be added). */
  extraOrigins?: DemoService[];
  /** Proxmox task duration (LXC create/start). */
  taskDurationMs?: number;
  /** More Proxmox simulator options (status refresh, per-type task durations, agent timeout, ...). */
  proxmox?: Partial<Omit<ProxmoxSimOptions, 'seed'>>;
  /** Zero Trust team of the Cloudflare simulator (default homelab); null: no organization yet. */
  accessTeam?: string | null;
  /**
   * Seed a pre-existing setup (`import`): a community-scripts cloudflared LXC running a
   * token-installed cloudflared for a remotely-managed tunnel named `homelab`, with the demo's
   * services as its dashboard routes (see pre-existing.ts).
   */
  preExisting?: boolean;
  /** More Proxmox cluster nodes besides `pve` (e.g. ['pve2']), at 127.0.9.2, 127.0.9.3, ... */
  extraNodes?: string[];
}

/**
 * A whole homelab on loopback: the Proxmox and Cloudflare API simulators, an SSH host
 * playing the connector LXC (a sandbox directory) and, optionally, HTTP servers playing
 * the guests. Used by `proxflare demo`, the end-to-end tests and the benchmark.
 */
export interface SimulatedHomelab {
  dir: string;
  inventoryFile: string;
  env: NodeJS.ProcessEnv;
  proxmox: ProxmoxSim;
  cloudflare: CloudflareSim;
  host: SandboxHost;
  origins: OriginServers | undefined;
  services: DemoService[];
  /** Hosts outside Proxmox in the inventory (the demo's NAS; none for generated homelabs). */
  hosts: DemoHost[];
  /** Inventory YAML for these services; `extra` is appended (e.g. an `access:` section). */
  inventoryYaml(services?: DemoService[], extra?: string): string;
  /** Real adapters against the simulators; SSH goes to the sandbox host. */
  createPorts(inventory: Inventory, reporter: Reporter): Ports;
  close(): Promise<void>;
}

export async function startSimulatedHomelab(options: SimulatedHomelabOptions = {}): Promise<SimulatedHomelab> {
  const dir = await mkdtemp(join(tmpdir(), 'proxflare-homelab-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const { seed, services } = options.guests
      ? generatedHomelab(options.guests)
      : { seed: demoSeed(options.originNet), services: DEMO_SERVICES };
    if (options.preExisting) seed.guests.push(communityScriptsLxc());
    for (const [i, name] of (options.extraNodes ?? []).entries()) seed.nodes.push({ name, ip: `127.0.9.${i + 2}` });
    const hosts = options.guests ? [] : demoHosts(options.originNet ?? 10);
    const proxmox = await startProxmoxSim({
      seed,
      latencyMs: options.latencyMs ?? 0,
      taskDurationMs: options.taskDurationMs ?? 200,
      connectorIp: '127.0.0.1',
      ...options.proxmox,
    });
    cleanups.push(() => proxmox.close());
    const cloudflare = await startCloudflareSim({
      zones: [{ name: DEMO_ZONE, records: unrelatedRecords(options.unrelatedRecords ?? 2), recordQuota: 1_000_000 }],
      ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}),
      ...(options.accessTeam !== undefined ? { accessTeam: options.accessTeam } : {}),
    });
    cleanups.push(() => cloudflare.close());
    const host = await startSandboxHost({ dir: join(dir, 'connector'), cloudflared: false });
    cleanups.push(() => host.close());
    // The stand-in cloudflared dials the simulator's edge itself (the .deb carries the address, so
    // every replica installed from it does; the pre-existing setup's copy reads it from etc).
    const edge = { edge: cloudflare.edge.connectors, accessCertsUrl: cloudflare.accessCertsUrl };
    const deb = await buildStandinDeb(join(dir, 'packages'), undefined, { edge });
    await writeStandinEdgeConfig(host.root, edge);
    if (options.preExisting) {
      await seedPreExisting({
        cloudflare,
        host,
        zone: DEMO_ZONE,
        tunnelName: 'homelab',
        deb,
        routes: services.map((s) => ({ hostname: s.hostname, service: `${s.scheme ?? 'http'}://${guestIp(seed, s.guest)}:${s.port}` })),
        connectorStarted: () => undefined,
      });
    }

    let origins: OriginServers | undefined;
    if (options.serveOrigins) {
      origins = await startOriginServers([
        ...[...services, ...(options.extraOrigins ?? [])].map((s) => ({ ip: guestIp(seed, s.guest), port: s.port, name: s.guest })),
        ...hosts.map((h) => ({ ip: h.address, port: h.port, name: h.name })),
      ]);
      cleanups.push(() => origins!.close());
    }

    const token = proxmox.tokens[0]!;
    const edgeCa = join(dir, 'edge-ca.pem');
    await writeFile(edgeCa, cloudflare.edge.caPem);
    const env: NodeJS.ProcessEnv = {
      PVE_TOKEN_ID: token.id,
      PVE_TOKEN_SECRET: token.secret,
      CLOUDFLARE_API_TOKEN: cloudflare.token,
      PROXFLARE_LOCK_DIR: dir,
      // `status --public` reaches every hostname through the simulated edge, never the Internet,
      // over TLS as a visitor does: SNI, and a certificate checked against the edge's own CA.
      [PUBLIC_EDGE_ENV]: cloudflare.edge.httpsUrl,
      [PUBLIC_EDGE_CA_ENV]: edgeCa,
    };
    const inventoryYaml = (list: DemoService[] = services, extra = '') =>
      renderInventory({ proxmox, cloudflare, host, deb, seed, services: list, hosts }) + extra;
    const inventoryFile = join(dir, 'inventory.yaml');
    await writeFile(inventoryFile, inventoryYaml());

    return {
      dir,
      inventoryFile,
      env,
      proxmox,
      cloudflare,
      host,
      origins,
      services,
      hosts,
      inventoryYaml,
      createPorts: (inventory, reporter) =>
        sandboxPorts(inventory, reporter, { root: host.root, binDir: host.binDir, metrics: host.metrics }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Points a sandbox's stand-in cloudflared at the simulated edge ($ROOT/etc/proxflare-standin/edge.json,
 * read over the packaged one key by key).
 */
export async function writeStandinEdgeConfig(root: string, edge: StandinEdgeConfig): Promise<void> {
  await mkdir(join(root, 'etc/proxflare-standin'), { recursive: true });
  await writeFile(join(root, 'etc/proxflare-standin/edge.json'), `${JSON.stringify(edge)}\n`);
}

function renderInventory(p: {
  proxmox: ProxmoxSim;
  cloudflare: CloudflareSim;
  host: SandboxHost;
  deb: string;
  seed: SimSeed;
  services: DemoService[];
  hosts: DemoHost[];
}): string {
  const byGuest = new Map<string, DemoService[]>();
  for (const s of p.services) byGuest.set(s.guest, [...(byGuest.get(s.guest) ?? []), s]);
  const guests = [...byGuest.entries()]
    .map(([name, list]) => {
      const meta = guestMeta(p.seed, name);
      const services = list
        .map(
          (s) =>
            `      - hostname: ${s.hostname}\n        port: ${s.port}${s.scheme && s.scheme !== 'http' ? `\n        scheme: ${s.scheme}` : ''}${s.access ? `\n        access: ${s.access}` : ''}`,
        )
        .join('\n');
      return `  - name: ${name}\n    type: ${meta.type}\n    vmid: ${meta.vmid}\n    services:\n${services}`;
    })
    .join('\n');
  return `# yaml-language-server: $schema=./inventory.schema.json
# The simulated homelab of \`proxflare demo\`: every address below is on 127.0.0.0/8.
proxmox:
  url: ${p.proxmox.url}
  tokenId: \${PVE_TOKEN_ID}
  tokenSecret: \${PVE_TOKEN_SECRET}
  fingerprint: "${p.proxmox.fingerprint}"
  node: pve
cloudflare:
  apiToken: \${CLOUDFLARE_API_TOKEN}
  accountId: ${p.cloudflare.accountId}
  zone: ${DEMO_ZONE}
  baseUrl: ${p.cloudflare.url}
tunnel:
  name: homelab
connector:
  hostname: cloudflared
  template: debian-12
  storage: local-lvm
  network: { bridge: vmbr0, ip: dhcp }
  ssh:
    user: ${p.host.user}
    host: ${p.host.host}
    port: ${p.host.port}
    privateKey: ${p.host.privateKeyPath}
    knownHosts: ${p.host.knownHostsPath}
  cloudflared:
    source: deb
    path: ${p.deb}
settings:
  # The simulated guests live on loopback aliases; a real homelab never needs this.
  allowLoopbackOrigins: true
guests:
${guests}
${renderHosts(p.hosts)}`;
}

function renderHosts(hosts: DemoHost[]): string {
  if (hosts.length === 0) return '';
  const entries = hosts.map(
    (h) => `  - name: ${h.name}\n    address: ${h.address}\n    services:\n      - hostname: ${h.hostname}\n        port: ${h.port}`,
  );
  return `# Machines outside Proxmox, published by address (here a simulated NAS on a loopback alias).\nhosts:\n${entries.join('\n')}\n`;
}

function guestMeta(seed: SimSeed, name: string): { type: 'lxc' | 'vm'; vmid: number } {
  const g = seed.guests.find((x) => x.name === name);
  if (!g) throw new Error(`no simulated guest named ${name}`);
  return { type: g.type === 'lxc' ? 'lxc' : 'vm', vmid: g.vmid };
}

function guestIp(seed: SimSeed, name: string): string {
  const g = seed.guests.find((x) => x.name === name)!;
  const fromInterfaces = 'interfaces' in g ? g.interfaces?.[0]?.ipv4 : undefined;
  const fromConfig = 'ipconfig0' in g ? /ip=([0-9.]+)/.exec(g.ipconfig0 ?? '')?.[1] : undefined;
  const ip = (fromInterfaces ?? fromConfig ?? '').split('/')[0]!;
  if (!ip) throw new Error(`simulated guest ${name} has no address`);
  return ip;
}

/** The loopback address of generated guest number `i`: 250 per /24, starting at 127.0.10.1. */
export function generatedGuestIp(i: number): string {
  return `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;
}

/** N LXC guests on 127.0.(10+i/250).x, one service each. */
function generatedHomelab(count: number): { seed: SimSeed; services: DemoService[] } {
  const seed = demoSeed();
  const guests: SimGuestSeed[] = [];
  const services: DemoService[] = [];
  for (let i = 0; i < count; i++) {
    const name = `svc${i}`;
    const ip = generatedGuestIp(i);
    guests.push({
      type: 'lxc',
      vmid: 1000 + i,
      node: 'pve',
      name,
      status: 'running',
      net0: `name=eth0,bridge=vmbr0,ip=dhcp,type=veth`,
      interfaces: [{ name: 'eth0', ipv4: `${ip}/24`, hwaddr: 'bc:24:11:00:00:00' }],
    } as SimGuestSeed);
    services.push({ guest: name, hostname: `svc${i}.${DEMO_ZONE}`, port: 8000 + (i % 1000) });
  }
  return { seed: { ...seed, guests }, services };
}

function unrelatedRecords(n: number): { name: string; type: string; content: string; proxied?: boolean; ttl?: number; comment?: string }[] {
  return Array.from({ length: n }, (_, i) => ({
    name: i === 0 ? `www.${DEMO_ZONE}` : `host${i}.${DEMO_ZONE}`,
    type: 'A',
    content: `198.51.100.${(i % 250) + 1}`,
    proxied: false,
    ttl: 300,
  }));
}
