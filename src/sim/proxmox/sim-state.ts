import { createHash, randomUUID } from 'node:crypto';
import type { SimGuestSeed, SimInterfaceSeed, SimSeed } from './seed.js';

/** An error the simulated server answers with (status, first line = reason, optional errors map). */
export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
    /** 59x proxy errors and 401s carry no JSON body. */
    readonly noBody = false,
  ) {
    super(message);
  }
}

export type ConfigValue = string | number;

export interface SimNode {
  name: string;
  ip: string;
  online: boolean;
  nodeid: number;
}

export interface SimStorage {
  id: string;
  type: string;
  content: string[];
  /** Templates on the first node's copy (the only one on a single-node lab). */
  templates: Map<string, { size: number; ctime: number }>;
  /**
   * storage.cfg `nodes`: the nodes that have this storage (undefined: every node). A `dir`
   * storage such as `local` is not shared: each node has its own copy, with its own templates.
   */
  nodes: string[] | undefined;
  templatesByNode: Map<string, Map<string, { size: number; ctime: number }>>;
}

/** The templates of one node's copy of a storage. */
export function templatesOn(storage: SimStorage, node: string): Map<string, { size: number; ctime: number }> {
  let t = storage.templatesByNode.get(node);
  if (!t) storage.templatesByNode.set(node, (t = new Map()));
  return t;
}

/** storage_check_enabled (pve-storage PVE/Storage.pm): a storage restricted to other nodes is not there. */
export function storageOnNode(storage: SimStorage, node: string): boolean {
  return storage.nodes === undefined || storage.nodes.includes(node);
}

export interface SimGuest {
  type: 'lxc' | 'qemu';
  vmid: number;
  node: string;
  status: 'running' | 'stopped';
  config: Record<string, ConfigValue>;
  /** What `ip a` (LXC) or qemu-ga (VM) reports while running. */
  interfaces: SimInterfaceSeed[];
  /** VM only: whether qemu-ga answers. */
  agentRunning: boolean;
  /** VM only: qemu-ga answers the ping but not the command (a wedged agent). */
  agentHangs?: boolean;
  /**
   * Status and name as pvestatd last pushed them into the RRD (what /cluster/resources shows).
   * Undefined until the first cycle after the guest appeared: the row then reads `unknown`
   * without a name (README-pve §4.1, §4.14 "How stale /cluster/resources can be").
   */
  reported?: { status: string; name: string };
  /** The per-CT flock `/run/lock/lxc/pve-config-<vmid>.lock`, while a worker holds it (§4.14). */
  flock?: Flock;
  startedAt: number;
}

/** A held per-guest flock; `released` settles when its holder lets go. */
export interface Flock {
  holder: string;
  released: Promise<void>;
  release(): void;
}

export interface SimTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  tokenid?: string;
  /** Full `user@realm!token`, for ownership. */
  owner: string;
  pid: number;
  pstart: number;
  starttime: number;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  log: string[];
  /** Runs when the task stops, success or not (releases what the worker held). */
  onEnd?: () => void;
}

export interface SimToken {
  id: string;
  secret: string;
  acl: Record<string, string[]>;
}

const hex8 = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export function normalizeTags(raw: string): string {
  const tags = raw
    .split(/[;,\s]+/)
    .filter((t) => t !== '')
    .map((t) => t.toLowerCase());
  return [...new Set(tags)].sort().join(';');
}

/** Property-string printing as `pct config` shows it: `name` first, then keys sorted (Perl's `sort`: by code point). */
export function printNet(parts: Record<string, string>): string {
  const keys = Object.keys(parts).sort((a, b) => (a === 'name' ? -1 : b === 'name' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => `${k}=${parts[k]}`).join(',');
}

export function parseNet(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** vmstatus: a config without hostname reads `CT<vmid>` (pve-container src/PVE/LXC.pm vmstatus); a VM `VM <vmid>`. */
function reportedName(g: SimGuest): string {
  if (g.type === 'lxc') return g.config.hostname !== undefined ? String(g.config.hostname) : `CT${g.vmid}`;
  return g.config.name !== undefined ? String(g.config.name) : `VM ${g.vmid}`;
}

export class SimState {
  readonly pveVersion: 8 | 9;
  readonly nodes = new Map<string, SimNode>();
  readonly storages = new Map<string, SimStorage>();
  readonly aplinfo: Record<string, string>[];
  readonly tokens = new Map<string, SimToken>();
  readonly guests = new Map<number, SimGuest>();
  readonly tasks = new Map<string, SimTask>();
  private pid = 0x19c5a2;
  private macSeq = 0x10;

  constructor(seed: SimSeed) {
    this.pveVersion = seed.pveVersion ?? 9;
    seed.nodes.forEach((n, i) => this.nodes.set(n.name, { name: n.name, ip: n.ip, online: n.online ?? true, nodeid: i + 1 }));
    for (const s of seed.storages) {
      const templatesByNode = new Map<string, Map<string, { size: number; ctime: number }>>();
      for (const n of seed.nodes) {
        const files = s.nodeTemplates?.[n.name] ?? s.templates ?? [];
        templatesByNode.set(n.name, new Map(files.map((t) => [t, { size: 126_509_440, ctime: 1_727_000_000 }])));
      }
      const first = seed.nodes[0]?.name ?? 'pve';
      if (!templatesByNode.has(first)) templatesByNode.set(first, new Map());
      this.storages.set(s.id, {
        id: s.id,
        type: s.type,
        content: [...s.content],
        templates: templatesByNode.get(first)!,
        nodes: s.nodes,
        templatesByNode,
      });
    }
    this.aplinfo = (seed.aplinfo ?? []).map((a) => ({
      template: a.template,
      package: a.template.replace(/_.*$/, ''),
      version: a.version ?? '1.0',
      os: a.os ?? 'debian',
      section: a.section ?? 'system',
      type: 'lxc',
      headline: a.headline ?? a.template,
      location: `http://download.proxmox.com/images/system/${a.template}`,
      source: 'http://download.proxmox.com/images/system',
      infopage: 'https://pve.proxmox.com/wiki/Linux_Container',
      maintainer: 'Proxmox Support Team <support@proxmox.com>',
      architecture: 'amd64',
      sha512sum: 'f'.repeat(128),
    }));
    for (const t of seed.tokens) {
      const secret = t.secret ?? randomUUID();
      const acl = Array.isArray(t.privileges) ? { '/': [...t.privileges] } : structuredClone(t.privileges);
      this.tokens.set(t.id, { id: t.id, secret, acl });
    }
    for (const g of seed.guests) this.addGuest(g);
  }

  addGuest(g: SimGuestSeed): SimGuest {
    const config: Record<string, ConfigValue> =
      g.type === 'lxc'
        ? {
            arch: 'amd64',
            cores: g.cores ?? 1,
            hostname: g.name,
            memory: g.memory ?? 512,
            swap: g.swap ?? 512,
            ostype: g.ostype ?? 'debian',
            rootfs: g.rootfs ?? `local-lvm:vm-${g.vmid}-disk-0,size=8G`,
            unprivileged: g.unprivileged === false ? 0 : 1,
            net0: g.net0 ?? `name=eth0,bridge=vmbr0,hwaddr=${this.nextMac()},ip=dhcp,type=veth`,
          }
        : {
            name: g.name,
            cores: g.cores ?? 2,
            memory: g.memory ?? 2048,
            net0: g.net0 ?? `virtio=${this.nextMac()},bridge=vmbr0`,
            ostype: 'l26',
            scsi0: `local-lvm:vm-${g.vmid}-disk-0,size=32G`,
          };
    if (g.type === 'lxc') {
      if (g.onboot !== undefined) config.onboot = g.onboot ? 1 : 0;
      if (g.features) config.features = g.features;
    } else {
      if ((g.agent ?? 'running') !== 'none') config.agent = '1';
      if (g.ipconfig0) config.ipconfig0 = g.ipconfig0;
    }
    if (g.tags?.length) config.tags = normalizeTags(g.tags.join(';'));
    const guest: SimGuest = {
      type: g.type,
      vmid: g.vmid,
      node: g.node,
      status: g.status,
      config,
      interfaces: g.interfaces ?? [],
      agentRunning: g.type === 'qemu' ? ['running', 'timeout'].includes(g.agent ?? 'running') : false,
      startedAt: Date.now(),
    };
    if (g.type === 'qemu' && g.agent === 'timeout') guest.agentHangs = true;
    // Seeded guests have been running for a while: pvestatd has reported them already.
    guest.reported = { status: guest.status, name: reportedName(guest) };
    this.guests.set(g.vmid, guest);
    return guest;
  }

  /**
   * One pvestatd cycle: push every guest's live status and name into the RRD that
   * /cluster/resources reads (pve-manager PVE/Service/pvestatd.pm update_lxc_status/update_qemu_status).
   */
  pvestatdCycle(): void {
    for (const g of this.guests.values()) g.reported = { status: g.status, name: reportedName(g) };
  }

  /** Take the guest's flock for `holder`; callers wait for `flock.released` first. */
  takeFlock(guest: SimGuest, holder: string): Flock {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const flock: Flock = {
      holder,
      released,
      release: () => {
        if (guest.flock === flock) delete guest.flock;
        release();
      },
    };
    guest.flock = flock;
    return flock;
  }

  nextMac(): string {
    const n = this.macSeq++;
    return `BC:24:11:${hex8(n).slice(2, 4)}:${hex8(n).slice(4, 6)}:${hex8(n).slice(6, 8)}`;
  }

  /** SHA-1 of the config file text, as pve-common's digest. */
  digest(guest: SimGuest): string {
    const text = Object.keys(guest.config)
      .filter((k) => k !== 'digest')
      .sort()
      .map((k) => `${k}: ${guest.config[k]}\n`)
      .join('');
    return createHash('sha1').update(text).digest('hex');
  }

  newTask(node: string, type: string, id: string, owner: string): SimTask {
    const [user, tokenid] = owner.split('!') as [string, string | undefined];
    const now = Math.floor(Date.now() / 1000);
    const pid = this.pid++;
    const pstart = 0x0a3e7b1f + pid;
    const upid = `UPID:${node}:${hex8(pid)}:${hex8(pstart)}:${hex8(now)}:${type}:${id}:${owner}:`;
    const task: SimTask = { upid, node, type, id, user, owner, pid, pstart, starttime: now, status: 'running', log: [] };
    if (tokenid) task.tokenid = tokenid;
    this.tasks.set(upid, task);
    return task;
  }
}
