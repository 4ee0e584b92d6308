import { InternalError, ProxflareError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { ConnectorSpec, Inventory } from '../inventory/types.js';
import type { Change, CredentialsChange, FileChange } from '../plan/types.js';
import { TUNNEL_ID_PLACEHOLDER } from '../plan/types.js';
import type { TunnelCredentials } from '../ports/cloudflare.js';
import type { ConnectorHost, ManagedFile } from '../ports/connector.js';
import type { Ports } from '../sync/ports.js';
import { connectTarget } from '../sync/read-actual.js';
import { resolveInText } from './executors/access.js';

export interface ExecutorTimeouts {
  /** How long to wait for the connector LXC to get an address. */
  ipTimeoutMs: number;
  /** How long to wait for another sync's lock on the connector. */
  lockWaitMs: number;
  /** How long to wait for the restarted connector to show up as tunnel connections. */
  tunnelConnectTimeoutMs: number;
  /** Rolling restart: how long a restarted replica's `/ready` may take to answer 200. */
  healthTimeoutMs: number;
}

/** A managed file waiting for its connector's unit change to deploy it. */
export interface StagedFile {
  change: FileChange | CredentialsChange;
  file: ManagedFile;
  /** cloudflared validates the config before the swap when this file is deployed. */
  validate: boolean;
}

interface Session {
  host: ConnectorHost;
  /** Opened by this apply (so closed by it when apply fails), rather than handed in from the read. */
  openedHere: boolean;
  release?: () => Promise<void>;
}

/**
 * What executors share during one apply: facts known only after an earlier change (the tunnel
 * id, its credentials, a connector's new address), one open and locked connection per
 * connector name, the files staged for each connector's deploy, and which changes have landed.
 */
export class ExecutorContext {
  /** The existing tunnel's id, or the one created by this apply. */
  tunnelId: string;
  credentials: TunnelCredentials | undefined;
  restarted = false;
  /** Values learned during apply, by placeholder: Access policy/token ids, the aud of an app created now. */
  readonly resolved = new Map<string, string>();
  readonly #sessions = new Map<string, Session>();
  readonly #addresses = new Map<string, string>();
  readonly #staged = new Map<string, StagedFile[]>();
  readonly #completed = new Set<Change>();

  constructor(
    readonly inventory: Inventory,
    readonly ports: Ports,
    readonly reporter: Reporter,
    readonly timeouts: ExecutorTimeouts,
    tunnelId: string,
    /** The connections the read phase opened, by connector hostname. */
    readHosts: ReadonlyMap<string, ConnectorHost>,
  ) {
    this.tunnelId = tunnelId;
    for (const [name, host] of readHosts) this.#sessions.set(name, { host, openedHere: false });
  }

  /** Text with the "known after apply" tunnel id (and the aud of an Access app created earlier) filled in. */
  resolve(text: string): string {
    return resolveInText(text.split(TUNNEL_ID_PLACEHOLDER).join(this.tunnelId), this.resolved);
  }

  /** Mark a change as carried out (executors call this as each change lands). */
  completed(change: Change): void {
    this.#completed.add(change);
  }

  /** A change that landed was undone (a rolled-back replica). */
  uncompleted(change: Change): void {
    this.#completed.delete(change);
  }

  isCompleted(change: Change): boolean {
    return this.#completed.has(change);
  }

  /** Whether a change of this kind has landed in this apply. */
  anyCompleted(kind: Change['kind']): boolean {
    return [...this.#completed].some((c) => c.kind === kind);
  }

  spec(connector: string): ConnectorSpec {
    const spec = this.inventory.connectors.find((c) => c.hostname === connector);
    if (spec) return spec;
    throw new InternalError(`the plan names connector "${connector}", which the inventory does not have`);
  }

  /** The open connection to a connector, holding its lock; connects and locks on first use. */
  async connector(name: string): Promise<ConnectorHost> {
    let session = this.#sessions.get(name);
    if (!session) {
      session = { host: await this.#connect(name), openedHere: true };
      this.#sessions.set(name, session);
    }
    // Another sync of the same tunnel must not interleave its deploy with ours.
    session.release ??= await session.host.lock(`tunnel-${this.inventory.tunnel.name}`, this.timeouts.lockWaitMs);
    return session.host;
  }

  /** The connector's container was (re)started, maybe at a new address: reconnect on next use. */
  async containerStarted(name: string, address: string): Promise<void> {
    this.#addresses.set(name, address);
    const session = this.#sessions.get(name);
    if (!session) return;
    this.#sessions.delete(name);
    await session.release?.().catch(() => undefined);
    await session.host.close().catch(() => undefined);
  }

  /** The connector's container is about to go (destroy): release and close its connection first. */
  async containerRemoved(name: string): Promise<void> {
    const session = this.#sessions.get(name);
    if (!session) return;
    this.#sessions.delete(name);
    await session.release?.().catch(() => undefined);
    await session.host.close().catch(() => undefined);
  }

  stage(connector: string, staged: StagedFile): void {
    const list = this.#staged.get(connector) ?? [];
    list.push(staged);
    this.#staged.set(connector, list);
  }

  /** The files staged for a connector, handed over once to the change that deploys them. */
  takeStaged(connector: string): StagedFile[] {
    const list = this.#staged.get(connector) ?? [];
    this.#staged.delete(connector);
    return list;
  }

  /** Connectors with staged files no unit change deployed: a planning bug if ever non-empty. */
  undeployed(): string[] {
    return [...this.#staged.keys()];
  }

  /** The connection to a connector after apply, if one is open. */
  hostOf(name: string): ConnectorHost | undefined {
    return this.#sessions.get(name)?.host;
  }

  /** Every connection open after apply, by connector hostname. */
  openHosts(): Map<string, ConnectorHost> {
    return new Map([...this.#sessions].map(([name, s]) => [name, s.host]));
  }

  /**
   * Release every connector lock; when apply failed, also close the connections this apply
   * opened (the caller closes the one it handed in, or the one returned on success).
   */
  async finish(failed: boolean): Promise<void> {
    for (const session of this.#sessions.values()) {
      await session.release?.().catch(() => undefined);
      delete session.release;
      if (failed && session.openedHere) await session.host.close().catch(() => undefined);
    }
  }

  async #connect(name: string): Promise<ConnectorHost> {
    const spec = this.spec(name);
    let address = spec.ssh.host ?? this.#addresses.get(name);
    if (!address) {
      const state = await this.ports.proxmox.readState(spec, []);
      address = state.connector?.ip;
      if (!address) throw new ProxflareError(`lxc/${spec.hostname} has no IPv4 address; is it running?`);
    }
    return this.ports.connect(connectTarget(this.inventory, address));
  }
}
