import { Secret } from '../../../src/core/secret.js';
import { RecordingReporter } from '../../../src/core/reporter.js';
import type { ConnectorSpec, GuestSpec, ProxmoxSettings } from '../../../src/inventory/types.js';
import { createProxmox, type ProxmoxAdapterOptions } from '../../../src/proxmox/create-proxmox.js';
import { DEMO_TEMPLATE, type SimGuestSeed, type SimSeed, RECOMMENDED_PRIVILEGES_PVE9 } from '../../../src/sim/proxmox/seed.js';
import { type ProxmoxSim, type ProxmoxSimOptions, startProxmoxSim } from '../../../src/sim/proxmox/start-proxmox-sim.js';

export const TOKEN_ID = 'proxflare@pve!cli';
export const TOKEN_SECRET = '0b7c6c5e-2f4a-4c1d-9e8f-1a2b3c4d5e6f';
export const TEMPLATE = `local:vztmpl/${DEMO_TEMPLATE}`;

export function baseSeed(guests: SimGuestSeed[] = [], overrides: Partial<SimSeed> = {}): SimSeed {
  return {
    pveVersion: 9,
    nodes: [{ name: 'pve', ip: '127.0.9.1' }],
    storages: [
      { id: 'local', type: 'dir', content: ['iso', 'vztmpl', 'backup'], templates: [DEMO_TEMPLATE] },
      { id: 'local-lvm', type: 'lvmthin', content: ['rootdir', 'images'] },
    ],
    aplinfo: [{ template: DEMO_TEMPLATE, os: 'debian-12', section: 'system', version: '12.12-1' }],
    tokens: [{ id: TOKEN_ID, secret: TOKEN_SECRET, privileges: RECOMMENDED_PRIVILEGES_PVE9 }],
    guests,
    ...overrides,
  };
}

/** Our connector as an earlier sync left it: CT 150 `cloudflared` on pve, running, with our tag. */
export function ourConnector(extra: Partial<SimGuestSeed> = {}): SimGuestSeed {
  return { type: 'lxc', vmid: 150, node: 'pve', name: 'cloudflared', status: 'running', tags: ['proxflare'], ...extra };
}

export function settingsFor(sim: ProxmoxSim, overrides: Partial<ProxmoxSettings> = {}): ProxmoxSettings {
  return {
    url: sim.url,
    host: '127.0.0.1',
    port: sim.port,
    protocol: 'https',
    tokenId: TOKEN_ID,
    tokenSecret: new Secret(TOKEN_SECRET),
    fingerprint: sim.fingerprint,
    insecure: false,
    node: 'pve',
    ...overrides,
  };
}

export function connectorSpec(overrides: Partial<ConnectorSpec> = {}): ConnectorSpec {
  return {
    hostname: 'cloudflared',
    node: 'pve',
    template: TEMPLATE,
    storage: 'local-lvm',
    disk: 4,
    memory: 512,
    swap: 512,
    cores: 1,
    onboot: true,
    network: { bridge: 'vmbr0', ip: 'dhcp' },
    ssh: {
      user: 'root',
      port: 22,
      privateKey: '/nonexistent/id_ed25519',
      publicKey: '/nonexistent/id_ed25519.pub',
      knownHosts: '/nonexistent/known_hosts',
      trustOnFirstUse: false,
    },
    cloudflared: { type: 'apt' },
    tag: 'proxflare',
    healthTimeoutSeconds: 30,
    ...overrides,
  };
}

export function guest(name: string, type: 'lxc' | 'vm', vmid: number, extra: Partial<GuestSpec> = {}): GuestSpec {
  return { name, type, vmid, node: 'pve', services: [], field: `guests[${vmid}]`, ...extra };
}

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHxQm6m0n2zJc2Wm1m2y0c8pZ0u8cQk9m3Jr1dYb9x5a test@proxflare';

export interface Harness {
  sim: ProxmoxSim;
  reporter: RecordingReporter;
  adapter: ReturnType<typeof createProxmox>;
  close(): Promise<void>;
}

export async function startHarness(
  seed: SimSeed,
  simOptions: Partial<ProxmoxSimOptions> = {},
  adapterOptions: ProxmoxAdapterOptions = {},
  settings: Partial<ProxmoxSettings> = {},
): Promise<Harness> {
  const sim = await startProxmoxSim({ seed, taskDurationMs: 5, ...simOptions });
  const reporter = new RecordingReporter();
  const adapter = createProxmox(settingsFor(sim, settings), { reporter, taskPollMs: 5, retryDelayMs: 5, ...adapterOptions });
  return {
    sim,
    reporter,
    adapter,
    close: async () => {
      await adapter.close();
      await sim.close();
    },
  };
}
