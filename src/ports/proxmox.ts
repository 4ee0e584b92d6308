import type { ConnectorSpec, GuestSpec } from '../inventory/types.js';

/**
 * The Proxmox port. Readers never mutate; planning gets only a reader.
 * Adapter: src/proxmox/ (over `proxmox-api`). Fake: test/fakes/in-memory-proxmox.ts.
 */

export interface LxcRef {
  node: string;
  vmid: number;
}

/** The parts of an LXC config proxflare compares (README-pve §4.7). */
export interface LxcConfigState {
  hostname: string;
  memory: number;
  swap: number;
  cores: number;
  onboot: boolean;
  /** Raw net0 string, e.g. `name=eth0,bridge=vmbr0,ip=dhcp,type=veth,hwaddr=..`. */
  net0: string;
  /** Raw rootfs string, e.g. `local-lvm:vm-105-disk-0,size=4G`. */
  rootfs: string;
  unprivileged: boolean;
  tags: string[];
  /** Config digest, sent back on PUT so a concurrent edit is refused. */
  digest: string;
}

export interface ConnectorLxcState extends LxcRef {
  /** Live, from status/current (never the lagging /cluster/resources row). */
  status: 'running' | 'stopped' | string;
  config: LxcConfigState;
  /** First non-loopback IPv4 from /interfaces, when running. */
  ip?: string;
  /** Config lock (create, backup, migrate, ...): the container is busy and must not be acted on. */
  lock?: string;
  /** A running worker task on the container (its UPID): busy as well. */
  busyTask?: string;
}

/** connector.template as asked for and as resolved on the node. */
export interface ResolvedTemplate {
  /** As written: `debian-12`, or a volid pin. */
  requested: string;
  /** `local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst` */
  volid: string;
}

export type IpSource = 'inventory' | 'interfaces' | 'agent' | 'config';

export type GuestIp =
  | { ok: true; ip: string; source: IpSource }
  /** A clear error naming the guest and the fix (stopped, no agent, no address). */
  | { ok: false; error: string };

/** A `vzcreate` of this token that ended without writing the config: a `lock: create`-only CT is left. */
export interface FailedCreate extends LxcRef {
  upid: string;
  /** The task's exit status (its error). */
  status: string;
}

export interface ProxmoxState {
  /** The connector, found by ownership tag + hostname (never by hostname alone). */
  connector: ConnectorLxcState | undefined;
  /**
   * Other containers that are our connector too (two runs created one each): `connector` is the
   * one kept (connector.vmid, else the lowest vmid); these are never touched, only named.
   */
  duplicateConnectors?: LxcRef[];
  /** Failed creates of ours Proxmox cannot remove over the API (`pct unlock` first). */
  failedCreates?: FailedCreate[];
  /** Same-named LXCs without our tag: conflicts, never adopted silently. */
  foreignConnectors: LxcRef[];
  /** The one same-named LXC without our tag, read in full: what `--adopt=lxc` would take over. */
  adoptable?: ConnectorLxcState;
  /** connector.template resolved through the node's appliance index; absent = connector.template as written. */
  template?: ResolvedTemplate;
  /** Whether the resolved template is present in its storage. */
  templatePresent: boolean;
  /** Resolved IP per guest name. */
  guestIps: Map<string, GuestIp>;
  /** Addresses of the Proxmox nodes themselves (refused as origins). */
  nodeAddresses: string[];
}

/** Every guest of the cluster, as `import` sees it to match origin addresses to guests. */
export interface GuestSummary extends LxcRef {
  name: string;
  type: 'lxc' | 'vm';
  status: string;
  tags: string[];
  /** The discovered IPv4 (LXC interfaces / QEMU agent / static config), when there is one. */
  ip?: string;
}

export interface ReadStateOptions {
  /**
   * Called at most once, as soon as the connector (or the container `--adopt=lxc` would take
   * over; undefined when neither exists) is read and idle, before the guests are resolved: its
   * SSH read can then overlap guest discovery. Not called for a busy connector.
   */
  onConnector?: (lxc: ConnectorLxcState | undefined) => void;
}

export interface ProxmoxReader {
  /** Every LXC and VM with its discovered address (import). A partial listing throws. */
  listGuests(): Promise<GuestSummary[]>;
  /**
   * Read everything the plan needs in few calls. A failed or partial read
   * (offline node, timeout) throws ProviderError; it is never "no guests".
   */
  readState(connector: ConnectorSpec, guests: GuestSpec[], options?: ReadStateOptions): Promise<ProxmoxState>;
  /** Every container that is this connector (tag + hostname, or our create in progress), by vmid: the race checks around a create. */
  listConnectors(connector: ConnectorSpec): Promise<LxcRef[]>;
}

export interface LxcCreateSpec {
  connector: ConnectorSpec;
  /** Content of the SSH public key injected as ssh-public-keys. */
  sshPublicKey: string;
}

/** In-place changes Proxmox can apply to the connector (README-pve §4.7). */
export interface LxcConfigPatch {
  memory?: number;
  swap?: number;
  cores?: number;
  onboot?: boolean;
  net0?: string;
  /** `;`-separated; adoption adds the ownership tag to the tags already there. */
  tags?: string;
}

export interface ProxmoxWriter {
  /** Download the template through aplinfo if missing; waits for the task. */
  ensureTemplate(connector: ConnectorSpec): Promise<void>;
  /** POST /nodes/{node}/lxc, waits for the task (surfacing its log on failure). */
  createLxc(spec: LxcCreateSpec): Promise<LxcRef>;
  startLxc(ref: LxcRef): Promise<void>;
  /** Poll /interfaces until an IPv4 appears. */
  waitForIp(ref: LxcRef, timeoutMs: number): Promise<string>;
  /**
   * PUT config with the digest read at plan time. On a busy CT (locked, or a task holds its
   * flock) waits for the task, bounded, then fails "busy (lock: X), re-run when task UPID… ends".
   */
  updateLxc(ref: LxcRef, patch: LxcConfigPatch, digest: string): Promise<void>;
  /** Stop the container and wait for the task; a stopped container is not an error. */
  stopLxc(ref: LxcRef): Promise<void>;
  /**
   * `DELETE /nodes/{node}/lxc/{vmid}?purge=1&destroy-unreferenced-disks=1` and wait for the task.
   * The container must be stopped (PVE refuses a running one without force). Gone already: no error.
   */
  destroyLxc(ref: LxcRef): Promise<void>;
}

export interface Proxmox extends ProxmoxReader, ProxmoxWriter {
  close(): Promise<void>;
}
