import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/**
 * The homelab the simulator starts with. Kept small and explicit so a test can state
 * exactly the situation it needs (a stopped VM, an agent that is not running, ...).
 */
export interface SimSeed {
  /** Privilege names differ (VM.Monitor in 8, VM.GuestAgent.* in 9). Default 9. */
  pveVersion?: 8 | 9;
  nodes: SimNodeSeed[];
  storages: SimStorageSeed[];
  /** The `pveam` catalogue (GET /nodes/{node}/aplinfo). */
  aplinfo?: SimAplSeed[];
  tokens: SimTokenSeed[];
  guests: SimGuestSeed[];
}

export interface SimNodeSeed {
  name: string;
  /** The node's own address (reported by /cluster/status). */
  ip: string;
  online?: boolean;
}

export interface SimStorageSeed {
  id: string;
  type: 'dir' | 'lvmthin' | 'zfspool' | 'nfs';
  /** e.g. ['vztmpl', 'iso', 'backup'] or ['rootdir', 'images']. */
  content: string[];
  /** Template file names present (`debian-12-standard_12.12-1_amd64.tar.zst`), on every node's copy. */
  templates?: string[];
  /** storage.cfg `nodes`: only these nodes have the storage (default: all). */
  nodes?: string[];
  /** Per node: the templates of that node's own copy (a `dir` storage is not shared), instead of `templates`. */
  nodeTemplates?: Record<string, string[]>;
}

export interface SimAplSeed {
  template: string;
  os?: string;
  section?: string;
  version?: string;
  headline?: string;
}

export interface SimTokenSeed {
  /** `user@realm!name` */
  id: string;
  /** Lower-case UUID; generated when omitted. */
  secret?: string;
  /** Privileges granted on `/` (propagating), or per ACL path. */
  privileges: string[] | Record<string, string[]>;
}

export interface SimInterfaceSeed {
  name: string;
  /** IPv4 with prefix, e.g. 192.168.1.50/24. */
  ipv4?: string;
  ipv6?: string;
  hwaddr?: string;
}

interface SimGuestSeedBase {
  vmid: number;
  node: string;
  name: string;
  status: 'running' | 'stopped';
  tags?: string[];
  memory?: number;
  cores?: number;
  /** Interfaces as the guest sees them (LXC: `ip a`; VM: what the agent reports). */
  interfaces?: SimInterfaceSeed[];
  net0?: string;
}

export interface SimLxcSeed extends SimGuestSeedBase {
  type: 'lxc';
  swap?: number;
  onboot?: boolean;
  rootfs?: string;
  unprivileged?: boolean;
  ostype?: string;
  features?: string;
}

export interface SimVmSeed extends SimGuestSeedBase {
  type: 'qemu';
  /**
   * none: no `agent` key; not-running: configured but qemu-ga does not answer the ping;
   * timeout: qemu-ga answers the ping but the command times out (a wedged agent).
   */
  agent?: 'running' | 'not-running' | 'none' | 'timeout';
  ipconfig0?: string;
}

export type SimGuestSeed = SimLxcSeed | SimVmSeed;

/**
 * The system templates of Proxmox's appliance index (`pveam available --section system`) as of
 * late 2025: debian-12-standard 12.7-1 left the index on 2025-09-07 (12.12-1 since) and Debian 13
 * templates exist (issue #11; community-scripts ct/cloudflared.sh moved to var_version=13 on
 * 2025-09-18, README-pve §6). The simulated index lists these, so the default template resolves as
 * on a current node.
 */
export const CURRENT_SYSTEM_TEMPLATES: SimAplSeed[] = [
  {
    template: 'debian-12-standard_12.12-1_amd64.tar.zst',
    os: 'debian-12',
    section: 'system',
    version: '12.12-1',
    headline: 'Debian 12 Bookworm (standard)',
  },
  {
    template: 'debian-13-standard_13.1-2_amd64.tar.zst',
    os: 'debian-13',
    section: 'system',
    version: '13.1-2',
    headline: 'Debian 13 Trixie (standard)',
  },
  {
    template: 'ubuntu-22.04-standard_22.04-1_amd64.tar.zst',
    os: 'ubuntu-22.04',
    section: 'system',
    version: '22.04-1',
    headline: 'Ubuntu 22.04 Jammy (standard)',
  },
  {
    template: 'ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
    os: 'ubuntu-24.04',
    section: 'system',
    version: '24.04-2',
    headline: 'Ubuntu 24.04 Noble (standard)',
  },
  {
    template: 'alpine-3.22-default_20250617_amd64.tar.xz',
    os: 'alpine-3.22',
    section: 'system',
    version: '20250617',
    headline: 'Alpine Linux 3.22 (default)',
  },
];

export const DEMO_TEMPLATE = 'debian-12-standard_12.12-1_amd64.tar.zst';

/** Privileges of the role docs/proxmox.md recommends (PVE 9 names) plus Sys.Audit for node addresses. */
export const RECOMMENDED_PRIVILEGES_PVE9 = [
  'VM.Allocate',
  'VM.Audit',
  'VM.Config.CPU',
  'VM.Config.Memory',
  'VM.Config.Disk',
  'VM.Config.Network',
  'VM.Config.Options',
  'VM.PowerMgmt',
  'VM.GuestAgent.Audit',
  'Datastore.AllocateSpace',
  'Datastore.AllocateTemplate',
  'Datastore.Audit',
  'SDN.Use',
  'Sys.Audit',
];

export const DEMO_TOKEN_ID = 'proxflare@pve!demo';

/**
 * The bundled demo homelab: node `pve` at 127.0.9.1, guests at 127.0.<net>.x (default 10; the
 * demo serves those on loopback), one VM with a running guest agent.
 */
export function demoSeed(net = 10): SimSeed {
  return {
    pveVersion: 9,
    nodes: [{ name: 'pve', ip: '127.0.9.1' }],
    storages: [
      { id: 'local', type: 'dir', content: ['iso', 'vztmpl', 'backup'], templates: [DEMO_TEMPLATE] },
      { id: 'local-lvm', type: 'lvmthin', content: ['rootdir', 'images'] },
    ],
    aplinfo: CURRENT_SYSTEM_TEMPLATES,
    tokens: [{ id: DEMO_TOKEN_ID, secret: '5f0c1c1e-8d4b-4d7e-9a51-3c2f7e2b9a10', privileges: RECOMMENDED_PRIVILEGES_PVE9 }],
    guests: [
      {
        type: 'lxc',
        vmid: 101,
        node: 'pve',
        name: 'jellyfin',
        status: 'running',
        net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:01,ip=dhcp,type=veth',
        interfaces: [{ name: 'eth0', ipv4: `127.0.${net}.11/24`, hwaddr: 'bc:24:11:00:01:01' }],
      },
      {
        type: 'lxc',
        vmid: 102,
        node: 'pve',
        name: 'vaultwarden',
        status: 'running',
        net0: `name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:01:02,ip=127.0.${net}.12/24,gw=127.0.${net}.1,type=veth`,
        interfaces: [{ name: 'eth0', ipv4: `127.0.${net}.12/24`, hwaddr: 'bc:24:11:00:01:02' }],
      },
      {
        type: 'qemu',
        vmid: 200,
        node: 'pve',
        name: 'nextcloud',
        status: 'running',
        agent: 'running',
        net0: 'virtio=BC:24:11:00:02:00,bridge=vmbr0,firewall=1',
        interfaces: [{ name: 'ens18', ipv4: `127.0.${net}.20/24`, hwaddr: 'bc:24:11:00:02:00' }],
      },
      {
        type: 'qemu',
        vmid: 201,
        node: 'pve',
        name: 'homeassistant',
        status: 'running',
        agent: 'none',
        net0: 'virtio=BC:24:11:00:02:01,bridge=vmbr0',
        ipconfig0: `ip=127.0.${net}.21/24,gw=127.0.${net}.1`,
      },
    ],
  };
}

export async function loadSeed(seed: SimSeed | string): Promise<SimSeed> {
  if (typeof seed !== 'string') return structuredClone(seed);
  const text = await readFile(seed, 'utf8');
  return (seed.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as SimSeed;
}
