import type { CloudflaredSource, ConnectorSpec } from '../inventory/types.js';
import type { DnsRecord, NewDnsRecord, RemoteIngressRule } from '../ports/cloudflare.js';
import type { IpSource, LxcConfigPatch, LxcRef } from '../ports/proxmox.js';
import type { AccessChange, ExposureEntry } from './access-changes.js';

/**
 * The plan is data: dry-run renders it, apply executes it, and both read the same object,
 * so a dry-run never lies. Changes are kept in apply order (`apply-order.ts`); `noop`s are
 * kept and hidden by the renderer. There is no `replace`: a change that would need a new
 * resource is refused with an error, never done implicitly.
 */
export type Action = 'create' | 'update' | 'delete' | 'noop';

/** Value not known until an earlier change is applied (Terraform's "known after apply"). */
export const UNKNOWN = '(known after apply)';
/** Placeholder rendered into files where the tunnel id is not known yet. */
export const TUNNEL_ID_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

interface ChangeBase {
  /**
   * Stable address shown verbatim in plans, logs, errors and JSON (see `addresses.ts`):
   * `dns/media.example.com`, or `file:cloudflared:/etc/cloudflared/config.yml` on a connector.
   */
  address: string;
  action: Action;
  /** Why: "not in inventory", "memory 512 → 1024", "created by this plan". */
  reason: string;
}

export interface LxcView {
  node: string;
  vmid: number | typeof UNKNOWN;
  hostname: string;
  template: string;
  storage: string;
  disk: number;
  memory: number;
  swap: number;
  cores: number;
  onboot: boolean;
  net0: string;
  tags: string[];
}

/** Changes to things on a connector host carry the connector's name (its LXC hostname). */
interface HostChangeBase extends ChangeBase {
  connector: string;
}

export interface LxcChange extends ChangeBase {
  kind: 'lxc';
  /** The connector this container is. */
  connector: string;
  before: LxcView | undefined;
  /** undefined for delete (destroy). */
  after: LxcView | undefined;
  /** For create. */
  spec: ConnectorSpec;
  /** For update: the existing container, the in-place patch and the digest read at plan time. */
  ref?: LxcRef;
  patch?: LxcConfigPatch;
  digest?: string;
  /** The template must be downloaded first. */
  downloadTemplate: boolean;
  /** The connector is stopped and must be started. */
  start: boolean;
  /** Changes that take effect only after a restart of the container. */
  needsRestart: string[];
  /** Changes PVE applies to the running container at once (net0: the address may change). */
  appliedLive?: string[];
}

export interface TunnelChange extends ChangeBase {
  kind: 'tunnel';
  before: { id: string; name: string } | undefined;
  /** undefined for delete (destroy). */
  after: { id: string; name: string } | undefined;
  accountId: string;
}

/** destroy: the tunnel's connection records, cleaned up (`cloudflared tunnel cleanup`) before the tunnel goes. */
export interface ConnectionsChange extends ChangeBase {
  kind: 'connections';
  tunnelId: string;
  accountId: string;
  before: { connections: number };
  after: undefined;
}

/** The configuration Cloudflare holds for a remotely-managed tunnel, kept equal to config.yml (plan-remote-config.ts). */
export interface TunnelConfigChange extends ChangeBase {
  kind: 'tunnel-config';
  accountId: string;
  tunnelId: string;
  /** The version read at plan time. */
  version: number | undefined;
  before: { ingress: RemoteIngressRule[]; originRequest?: Record<string, unknown> } | undefined;
  after: { ingress: RemoteIngressRule[]; originRequest?: Record<string, unknown> };
}

export interface CredentialsChange extends HostChangeBase {
  kind: 'credentials';
  path: string;
  /** Where the credentials come from: a newly created tunnel, or the existing tunnel's token. */
  source: 'new-tunnel' | 'token';
  accountId: string;
  /** Never the secret itself. */
  before: { tunnelId: string } | 'unknown' | undefined;
  /** undefined for delete (destroy). */
  after: { tunnelId: string } | undefined;
}

export interface PackageChange extends HostChangeBase {
  kind: 'package';
  before: { version: string } | 'unknown' | undefined;
  after: { source: CloudflaredSource['type']; version: string | undefined };
  source: CloudflaredSource;
}

export interface FileChange extends HostChangeBase {
  kind: 'file';
  path: string;
  mode: number;
  /** Current content; 'unknown' when the host cannot be read yet (connector not created). */
  before: { content: string; mode: number } | 'unknown' | undefined;
  /** Full desired text (a tunnel id not known yet appears as TUNNEL_ID_PLACEHOLDER); undefined for delete. */
  after: { content: string; mode: number } | undefined;
  /** Config files are validated with cloudflared before the swap. */
  validate: boolean;
}

/**
 * A staging file of ours a killed deploy left beside a managed file (`.<name>.proxflare-tmp.<pid>`,
 * maybe holding the tunnel secret): removed, under the connector lock. Only `delete`; its
 * content is never read.
 */
export interface StagingFileChange extends HostChangeBase {
  kind: 'staging-file';
  path: string;
  before: { path: string };
  after: undefined;
}

export interface UnitChange extends HostChangeBase {
  kind: 'unit';
  unit: string;
  before: { enabled: boolean; active: boolean } | 'unknown' | undefined;
  /** delete (destroy): stopped gracefully and disabled. A standby replica: both false. */
  after: { enabled: boolean; active: boolean } | undefined;
  /** Restart because something it reads changed (never otherwise). */
  restart: boolean;
}

/**
 * What a `cloudflared service install <TOKEN>` left on a connector proxflare now runs from its
 * credentials file: the token and the daily self-update (plan-leftovers.ts). Only removed.
 */
export interface LeftoverChange extends HostChangeBase {
  kind: 'leftover';
  /** The exact paths present, removed together (daemon-reload after). */
  paths: string[];
  /** Units among them stopped and disabled first (the update timer). */
  units: string[];
  before: { paths: string[] };
  after: undefined;
}

export interface DnsChange extends ChangeBase {
  kind: 'dns';
  zoneId: string;
  zoneName: string;
  before: DnsRecord | undefined;
  after: NewDnsRecord | undefined;
}

export type Change =
  | LxcChange
  | TunnelChange
  | CredentialsChange
  | PackageChange
  | FileChange
  | StagingFileChange
  | UnitChange
  | LeftoverChange
  | TunnelConfigChange
  | DnsChange
  | ConnectionsChange
  | AccessChange;
export type ResourceKind = Change['kind'];

/** A change that creates, updates or keeps its resource: `after` is known. */
export type Upsert<C extends Change> = C & { after: NonNullable<C['after']> };

/** A resource with our name that we do not own: never touched, reported. */
export interface Conflict {
  address: string;
  message: string;
  /** How to resolve it, e.g. "remove it, or re-run with --adopt". */
  hint: string;
}

/** Where each ingress rule sends traffic, and how the address was learned. */
export interface OriginView {
  hostname: string;
  path?: string;
  service: string;
  guest?: string;
  /** For a route to a `hosts:` entry: its name. */
  host?: string;
  ipSource?: IpSource;
}

export interface Plan {
  changes: Change[];
  conflicts: Conflict[];
  warnings: string[];
  origins: OriginView[];
  /**
   * Guests whose address could not be read: their routes are not planned (their current rule and
   * DNS record stay as they are). A partly resolved plan applies the rest, then sync exits 1.
   */
  unresolved?: { guest: string; error: string; hostnames: string[] }[];
  /** Who can reach each published hostname, before → after this plan (Cloudflare Access). */
  exposure?: ExposureEntry[];
  /** Whether Cloudflare Access was read (the inventory has an `access:` section). */
  accessRead?: boolean;
}

export interface PlanSummary {
  add: number;
  change: number;
  destroy: number;
}

export function summarize(plan: Plan): PlanSummary {
  const s: PlanSummary = { add: 0, change: 0, destroy: 0 };
  for (const c of plan.changes) {
    if (c.action === 'create') s.add++;
    else if (c.action === 'update') s.change++;
    else if (c.action === 'delete') s.destroy++;
  }
  return s;
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== 'noop');
}
