import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PlanError, ProviderError } from '../core/errors.js';
import { type Reporter, silentReporter } from '../core/reporter.js';
import type { ConnectorSpec, GuestSpec, ProxmoxSettings } from '../inventory/types.js';
import type {
  ConnectorLxcState,
  FailedCreate,
  GuestIp,
  GuestSummary,
  LxcConfigPatch,
  LxcCreateSpec,
  LxcRef,
  Proxmox,
  ProxmoxState,
  ReadStateOptions,
} from '../ports/proxmox.js';
import { PveApiClient } from './api-client.js';
import { BUSY_ERROR, configLock, isOwnTask, lockOf, type ReadCall, readVia, runningTasks, type TaskRow, waitUntilIdle } from './busy.js';
import { pickLxcAddress, type ResourceRow, resolveGuestIp } from './guest-ip.js';
import { createLimit } from './limit.js';
import { parseTemplateVolid } from '../core/pve-config.js';
import { lxcCreateParams } from './lxc-spec.js';
import { waitForTask } from './task.js';
import { resolveTemplate } from './template.js';

export interface ProxmoxAdapterOptions {
  reporter?: Reporter;
  /** Most API requests in flight at once during readState. Default: `proxmox.concurrency` of the inventory. */
  concurrency?: number;
  /** Poll interval for tasks and waitForIp. Default 1000 ms. */
  taskPollMs?: number;
  /** Per-request deadline. Default 30 s. */
  timeoutMs?: number;
  /** How long a task (create, download, start) may run. Default 10 min. */
  taskTimeoutMs?: number;
  /** Attempts for idempotent reads on transient failures. Default 3. */
  readAttempts?: number;
  /** First retry delay, doubling. Default 250 ms. */
  retryDelayMs?: number;
  /** How long to wait for a busy connector (create or backup in progress) before reporting it. Default taskTimeoutMs. */
  busyWaitMs?: number;
}

/**
 * The inventory schema's default for `proxmox.concurrency`: a PVE node serves the API with a
 * few pveproxy/pvedaemon workers, so more requests in flight only queue on the node.
 */
const DEFAULT_CONCURRENCY = 8;

/** Neither locked nor running a task: a connector a plan can be made from. */
const isIdle = (c: ConnectorLxcState): boolean => c.lock === undefined && c.busyTask === undefined;
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const splitTags = (t: unknown): string[] =>
  typeof t === 'string'
    ? t
        .split(/[;,\s]+/)
        .filter(Boolean)
        .map((x) => x.toLowerCase())
    : [];

/** `proxmox-api` types most config values loosely; these are the ones we read. */
type RawConfig = Record<string, unknown>;

function toConfigState(raw: RawConfig): ConnectorLxcState['config'] {
  return {
    hostname: String(raw.hostname ?? ''),
    memory: num(raw.memory ?? 512),
    swap: num(raw.swap ?? 512),
    // No `cores` key means "all host cores"; 0 makes that visible as drift against any spec.
    cores: raw.cores === undefined ? 0 : num(raw.cores),
    onboot: num(raw.onboot ?? 0) === 1,
    net0: String(raw.net0 ?? ''),
    rootfs: String(raw.rootfs ?? ''),
    unprivileged: num(raw.unprivileged ?? 0) === 1,
    tags: splitTags(raw.tags),
    digest: String(raw.digest ?? ''),
  };
}

interface Candidate {
  row: ResourceRow;
  config: RawConfig;
  task?: TaskRow;
}

interface ConnectorCandidates {
  /** Sorted by vmid. */
  candidates: Candidate[];
  foreign: LxcRef[];
  failedCreates: FailedCreate[];
}

class ProxmoxAdapter implements Proxmox {
  // A JS-private field: util.inspect(adapter) must never reach the engine holding the token.
  readonly #client: PveApiClient;
  private readonly reporter: Reporter;
  private readonly concurrency: number;
  private readonly taskPollMs: number;
  private readonly taskTimeoutMs: number;
  private readonly busyWaitMs: number;

  constructor(
    private readonly settings: ProxmoxSettings,
    options: ProxmoxAdapterOptions,
  ) {
    this.reporter = options.reporter ?? silentReporter;
    this.concurrency = options.concurrency ?? settings.concurrency ?? DEFAULT_CONCURRENCY;
    this.taskPollMs = options.taskPollMs ?? 1000;
    this.taskTimeoutMs = options.taskTimeoutMs ?? 10 * 60_000;
    this.busyWaitMs = options.busyWaitMs ?? this.taskTimeoutMs;
    this.#client = new PveApiClient(settings, {
      reporter: this.reporter,
      timeoutMs: options.timeoutMs ?? 30_000,
      readAttempts: options.readAttempts ?? 3,
      retryDelayMs: options.retryDelayMs ?? 250,
    });
  }

  /**
   * A busy connector (being created, locked, a task running on it) is waited for, with progress,
   * and then read again: a plan is never made from a half-created container. Still busy at the
   * deadline, it is returned with `lock`/`busyTask` set and planning refuses to act on it.
   */
  async readState(connector: ConnectorSpec, guests: GuestSpec[], options: ReadStateOptions = {}): Promise<ProxmoxState> {
    const deadline = Date.now() + this.busyWaitMs;
    let { onConnector } = options;
    const once = (lxc: ConnectorLxcState | undefined) => {
      onConnector?.(lxc);
      onConnector = undefined;
    };
    for (;;) {
      const state = await this.readOnce(connector, guests, once);
      const c = state.connector;
      if (!c || isIdle(c)) return state;
      const busy = { ...(c.lock ? { lock: c.lock } : {}), ...(c.busyTask ? { upid: c.busyTask } : {}) };
      const idle = await waitUntilIdle(readVia(this.#client), c, busy, {
        reporter: this.reporter,
        address: `lxc/${connector.hostname}`,
        pollMs: this.taskPollMs,
        deadline,
      });
      if (!idle) return state;
    }
  }

  private async readOnce(
    connector: ConnectorSpec,
    guests: GuestSpec[],
    onConnector: (lxc: ConnectorLxcState | undefined) => void,
  ): Promise<ProxmoxState> {
    const limit = createLimit(this.concurrency);
    // The few reads of the connector, template and nodes go ahead of the guest discoveries.
    const call = <T>(op: string, fn: Parameters<PveApiClient['call']>[2]) =>
      limit(() => this.#client.call(op, 'GET', fn) as Promise<T>, { first: true });

    const [rawRows, nodes] = await Promise.all([
      call<ResourceRow[]>('list guests (/cluster/resources)', (api) => api.cluster.resources.$get({ type: 'vm' })),
      call<{ node: string; status: string }[]>('list nodes', (api) => api.nodes.$get()),
    ]);
    if (!Array.isArray(rawRows) || !Array.isArray(nodes))
      throw new ProviderError('proxmox', 'list guests', 'the answer was not a list; refusing to treat it as "no guests"');
    const rows = rawRows.filter((r) => r.type === 'lxc' || r.type === 'qemu').map((r) => ({ ...r, vmid: num(r.vmid) }));

    this.assertComplete(rows, nodes, connector, guests);

    const nodeAddressesP = this.nodeAddresses(call);
    const templateP = resolveTemplate(call, connector).then(async (template) => ({
      template,
      present: await this.templatePresent(template.volid, connector.node, call),
    }));
    const connectorP = this.findConnector(connector, rows, call).then((found) => {
      const lxc = found.connector ?? found.adoptable;
      if (!lxc || isIdle(lxc)) onConnector(lxc);
      return found;
    });
    const byVmid = new Map(rows.map((r) => [r.vmid, r]));
    const guestIpsP = Promise.all(
      guests.map(async (g): Promise<[string, GuestIp]> => {
        if (g.ip) return [g.name, { ok: true, ip: g.ip, source: 'inventory' }];
        return [g.name, await limit(() => resolveGuestIp(this.#client, g, byVmid.get(g.vmid)))];
      }),
    );
    const [nodeAddresses, template, found, guestIps] = await Promise.all([nodeAddressesP, templateP, connectorP, guestIpsP]);
    return {
      connector: found.connector,
      foreignConnectors: found.foreign,
      ...(found.duplicates.length > 0 ? { duplicateConnectors: found.duplicates } : {}),
      ...(found.failedCreates.length > 0 ? { failedCreates: found.failedCreates } : {}),
      ...(found.adoptable ? { adoptable: found.adoptable } : {}),
      template: template.template,
      templatePresent: template.present,
      guestIps: new Map(guestIps),
      nodeAddresses,
    };
  }

  async listGuests(): Promise<GuestSummary[]> {
    const limit = createLimit(this.concurrency);
    const rows = (await this.#client.call('list guests (/cluster/resources)', 'GET', (api) =>
      api.cluster.resources.$get({ type: 'vm' }),
    )) as ResourceRow[];
    if (!Array.isArray(rows))
      throw new ProviderError('proxmox', 'list guests', 'the answer was not a list; refusing to treat it as "no guests"');
    const guests = rows.filter((r) => r.type === 'lxc' || r.type === 'qemu').map((r) => ({ ...r, vmid: num(r.vmid) }));
    const unknown = guests.filter((r) => r.status === 'unknown');
    if (unknown.length > 0)
      throw new ProviderError(
        'proxmox',
        'list guests',
        `node ${[...new Set(unknown.map((r) => r.node))].join(', ')} is not reporting; the guest list is incomplete`,
        'bring the node back online and re-run',
      );
    return Promise.all(
      guests.map(async (row): Promise<GuestSummary> => {
        const type = row.type === 'lxc' ? 'lxc' : 'vm';
        const name = row.name ?? `${type === 'lxc' ? 'CT' : 'VM'}${row.vmid}`;
        const base: GuestSummary = { node: row.node, vmid: row.vmid, name, type, status: row.status, tags: splitTags(row.tags) };
        if (row.status !== 'running') return base;
        const spec = { name, type, vmid: row.vmid, node: row.node, services: [], field: `vmid ${row.vmid}` } as const;
        const ip = await limit(() => resolveGuestIp(this.#client, { ...spec, services: [] }, row));
        return ip.ok ? { ...base, ip: ip.ip } : base;
      }),
    );
  }

  /** A partial listing (offline node, unknown node) is an error, never "no guests". */
  private assertComplete(
    rows: ResourceRow[],
    nodes: { node: string; status: string }[],
    connector: ConnectorSpec,
    guests: GuestSpec[],
  ): void {
    const status = new Map(nodes.map((n) => [n.node, n.status]));
    const offline = new Set(nodes.filter((n) => n.status !== 'online').map((n) => n.node));
    for (const r of rows) if (r.status === 'unknown' && status.get(r.node) !== 'online') offline.add(r.node);
    const wanted = new Set([connector.node, ...guests.filter((g) => !g.ip).map((g) => g.node)]);
    const affected = [...offline].filter((n) => wanted.has(n) || rows.some((r) => r.node === n));
    if (affected.length > 0)
      throw new ProviderError(
        'proxmox',
        'list guests (/cluster/resources)',
        `node ${affected.join(', ')} is offline or not reporting (guests show status "unknown"); the guest list is incomplete`,
        'bring the node back online (check `pvecm status`) and re-run; proxflare does not plan from a partial read',
      );
    // Which inventory field names each node, so the error points at the line to fix.
    const fieldsOf = (n: string) => [
      ...(connector.node === n ? [`${connector.field ?? 'connector'}.node`] : []),
      ...guests.filter((g) => !g.ip && g.node === n).map((g) => `${g.field}.node`),
    ];
    const missing = [...wanted].filter((n) => !status.has(n));
    if (missing.length > 0)
      throw new PlanError(
        missing.map(
          (n) =>
            `${fieldsOf(n).join(', ')}: node "${n}" named in the inventory is not part of this Proxmox cluster (known: ${[...status.keys()].join(', ')})`,
        ),
      );
  }

  /**
   * Every container that is our connector: our tag and hostname in its config, or (while
   * `vzcreate` unpacks the template, README-pve §4.14) a `lock: create`-only config whose running
   * create task this token started. A `lock: create` left by an own create task that ended
   * without writing the config (it could not get the flock) is a failed create, reported apart.
   */
  private async connectorCandidates(spec: ConnectorSpec, rows: ResourceRow[], call: ReadCall): Promise<ConnectorCandidates> {
    const tag = spec.tag.toLowerCase();
    const lxcs = rows.filter((r) => r.type === 'lxc');
    const tagged = lxcs.filter((r) => splitTags(r.tags).includes(tag));
    const foreign = lxcs
      .filter((r) => r.name === spec.hostname && !splitTags(r.tags).includes(tag))
      .map((r) => ({ node: r.node, vmid: r.vmid }));
    const failedCreates: FailedCreate[] = [];

    // The row's name comes from the RRD and lags (README-pve §4.14, §9.10): none right after the
    // create, or `CT<vmid>` when a pvestatd cycle ran while the config was still lock-only. The
    // tag is live, so every tagged CT's config decides (they are few: one per replica).
    const candidates: Candidate[] = [];
    await Promise.all(
      tagged.map(async (row) => {
        const config = await call<RawConfig>(`read config of CT ${row.vmid}`, (api) => api.nodes.$(row.node).lxc.$(row.vmid).config.$get());
        if (String(config.hostname ?? '') === spec.hostname) candidates.push({ row, config });
      }),
    );
    const lockedUntagged = lxcs.filter((r) => r.lock !== undefined && !splitTags(r.tags).includes(tag));
    await Promise.all(
      lockedUntagged.map(async (row) => {
        const tasks = await runningTasks(call, { node: row.node, vmid: row.vmid });
        const task = tasks.find((t) => t.type === 'vzcreate' && isOwnTask(t, this.settings.tokenId));
        if (task) {
          candidates.push({ row, config: { lock: row.lock }, task });
          return;
        }
        // The task may have ended between the listing and now: the config tells what it left.
        const config = await call<RawConfig>(`read config of CT ${row.vmid}`, (api) =>
          api.nodes.$(row.node).lxc.$(row.vmid).config.$get(),
        ).catch((e: unknown) => {
          if (e instanceof ProviderError && e.status === 500 && /does not exist/.test(e.detail)) return undefined; // a failed create removed it
          throw e;
        });
        if (config && String(config.hostname ?? '') === spec.hostname && splitTags(config.tags).includes(tag)) {
          candidates.push({ row, config });
          return;
        }
        if (config && config.lock === 'create' && config.hostname === undefined) {
          const failed = await this.failedOwnCreate(call, row);
          if (failed) failedCreates.push(failed);
        }
      }),
    );
    candidates.sort((a, b) => a.row.vmid - b.row.vmid);
    failedCreates.sort((a, b) => a.vmid - b.vmid);
    return { candidates, foreign, failedCreates };
  }

  /** The ended `vzcreate` of this token that left a `lock: create`-only config (our mark), if any. */
  private async failedOwnCreate(call: ReadCall, row: ResourceRow): Promise<FailedCreate | undefined> {
    const rows = await call<TaskRow[] | null>(`list create tasks of CT ${row.vmid}`, (api) =>
      api.nodes.$(row.node).tasks.$get({ vmid: row.vmid, source: 'all', typefilter: 'vzcreate' }),
    );
    const own = (rows ?? []).find((t) => t.type === 'vzcreate' && t.status !== 'RUNNING' && isOwnTask(t, this.settings.tokenId));
    return own ? { node: row.node, vmid: row.vmid, upid: own.upid, status: own.status ?? 'unknown' } : undefined;
  }

  async listConnectors(spec: ConnectorSpec): Promise<LxcRef[]> {
    const call = readVia(this.#client);
    const rows = (await call<ResourceRow[]>('list guests (/cluster/resources)', (api) => api.cluster.resources.$get({ type: 'vm' }))).map(
      (r) => ({ ...r, vmid: num(r.vmid) }),
    );
    const { candidates } = await this.connectorCandidates(spec, rows, call);
    return candidates.map((c) => ({ node: c.row.node, vmid: c.row.vmid }));
  }

  private async findConnector(
    spec: ConnectorSpec,
    rows: ResourceRow[],
    call: ReadCall,
  ): Promise<{
    connector: ConnectorLxcState | undefined;
    foreign: LxcRef[];
    duplicates: LxcRef[];
    failedCreates: FailedCreate[];
    adoptable?: ConnectorLxcState;
  }> {
    const { candidates, foreign, failedCreates } = await this.connectorCandidates(spec, rows, call);
    if (candidates.length === 0) {
      // One same-named container without the tag: read it in full, so `--adopt=lxc` can take it over.
      const only = foreign.length === 1 ? rows.find((r) => r.type === 'lxc' && r.vmid === foreign[0]!.vmid) : undefined;
      if (!only) return { connector: undefined, foreign, duplicates: [], failedCreates };
      const config = await call<RawConfig>(`read config of CT ${only.vmid}`, (api) =>
        api.nodes.$(only.node).lxc.$(only.vmid).config.$get(),
      );
      return {
        connector: undefined,
        foreign,
        duplicates: [],
        failedCreates,
        adoptable: await this.lxcState(only, config, undefined, call),
      };
    }
    // Two runs without a shared lock can each create one: every run keeps the same one (a pinned
    // connector.vmid, else the lowest vmid) and names the others, instead of refusing to plan.
    const pinned = spec.vmid !== undefined ? candidates.find((c) => c.row.vmid === spec.vmid) : undefined;
    const kept = pinned ?? candidates[0]!;
    const duplicates = candidates.filter((c) => c !== kept).map((c) => ({ node: c.row.node, vmid: c.row.vmid }));
    candidates.splice(0, candidates.length, kept);
    const { row, config, task } = candidates[0]!;
    return { connector: await this.lxcState(row, config, task, call), foreign, duplicates, failedCreates };
  }

  private async lxcState(
    row: ResourceRow,
    config: RawConfig,
    task: TaskRow | undefined,
    call: <T>(op: string, fn: Parameters<PveApiClient['call']>[2]) => Promise<T>,
  ): Promise<ConnectorLxcState> {
    // /cluster/resources lags pvestatd's cycle (~10 s, README-pve §4.14): status/current is live.
    const current = await call<{ status: string; lock?: string }>(`read status of CT ${row.vmid}`, (api) =>
      api.nodes.$(row.node).lxc.$(row.vmid).status.current.$get(),
    );
    const state: ConnectorLxcState = { node: row.node, vmid: row.vmid, status: current.status, config: toConfigState(config) };
    const lock = current.lock ?? (typeof config.lock === 'string' ? config.lock : undefined);
    if (lock !== undefined) state.lock = lock;
    if (task) state.busyTask = task.upid;
    else if (lock !== undefined || current.status !== 'running') {
      // A create that has written its full config still holds the flock until the task ends.
      const running = await runningTasks(call, row);
      if (running[0]) state.busyTask = running[0].upid;
    }
    if (current.status === 'running') {
      const ifaces = await call<unknown>(`read interfaces of CT ${row.vmid}`, (api) =>
        api.nodes.$(row.node).lxc.$(row.vmid).interfaces.$get(),
      );
      const ip = pickLxcAddress(ifaces as Parameters<typeof pickLxcAddress>[0]);
      if (ip) state.ip = ip;
    }
    return state;
  }

  private async templatePresent(
    volid: string,
    node: string,
    call: <T>(op: string, fn: Parameters<PveApiClient['call']>[2]) => Promise<T>,
  ): Promise<boolean> {
    const { storage, file } = parseTemplateVolid(volid);
    const content = await call<{ volid: string }[]>(`list templates on storage ${storage}`, (api) =>
      api.nodes.$(node).storage.$(storage).content.$get({ content: 'vztmpl' }),
    );
    return content.some((c) => c.volid === volid || c.volid === `${storage}:vztmpl/${file}`);
  }

  /** The API host itself plus every node's address (needs Sys.Audit on /; skipped without it). */
  private async nodeAddresses(call: <T>(op: string, fn: Parameters<PveApiClient['call']>[2]) => Promise<T>): Promise<string[]> {
    const out = new Set<string>();
    const host = this.settings.host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) out.add(host);
    else {
      try {
        for (const a of await lookup(host, { all: true })) out.add(a.address);
      } catch {
        this.reporter.debug(`proxmox: could not resolve ${host} to check origins against it`);
      }
    }
    try {
      const status = await call<{ type: string; ip?: string }[]>('read cluster status', (api) => api.cluster.status.$get());
      for (const s of status) if (s.type === 'node' && s.ip) out.add(s.ip);
    } catch (e) {
      if (!(e instanceof ProviderError) || e.status !== 403) throw e;
      this.reporter.debug('proxmox: no Sys.Audit on / — node addresses other than the API host are not checked against origins');
    }
    return [...out];
  }

  async ensureTemplate(connector: ConnectorSpec): Promise<void> {
    const { storage, file } = parseTemplateVolid(connector.template);
    const node = connector.node;
    const content = (await this.#client.call(`list templates on storage ${storage}`, 'GET', (api) =>
      api.nodes.$(node).storage.$(storage).content.$get({ content: 'vztmpl' }),
    )) as { volid: string }[];
    if (content.some((c) => c.volid === connector.template || c.volid === `${storage}:vztmpl/${file}`)) return;
    const operation = `download template ${file} to ${storage}`;
    this.reporter.step(`lxc/${connector.hostname}`, `downloading template ${file} to ${node}:${storage}`);
    let upid: string;
    try {
      upid = await this.#client.call(operation, 'POST', (api) => api.nodes.$(node).aplinfo.$post({ storage, template: file }), {
        privilegeHint: `Datastore.AllocateTemplate on /storage/${storage}`,
      });
    } catch (e) {
      if (e instanceof ProviderError && e.status === 400 && /template/.test(e.detail))
        throw new ProviderError(
          'proxmox',
          operation,
          `the node's template catalogue has no "${file}"`,
          `run \`pveam update\` on ${node}, then pick a name from \`pveam available --section system\` for connector.template`,
          { cause: e, status: 400 },
        );
      throw e;
    }
    await waitForTask(this.#client, upid, operation, { pollMs: this.taskPollMs, timeoutMs: this.taskTimeoutMs });
    this.reporter.done(`lxc/${connector.hostname}`, `template ${file} downloaded`);
  }

  async createLxc(spec: LxcCreateSpec): Promise<LxcRef> {
    const c = spec.connector;
    const node = c.node;
    // nextid is no reservation: another client may take the id first; only then is a new id tried.
    for (let attempt = 1; ; attempt++) {
      const vmid = c.vmid ?? num(await this.#client.call('get the next free vmid', 'GET', (api) => api.cluster.nextid.$get()));
      const operation = `create CT ${vmid} (lxc/${c.hostname}) on ${node}`;
      let upid: string;
      try {
        upid = await this.#client.call(
          operation,
          'POST',
          (api) => api.nodes.$(node).lxc.$post(lxcCreateParams(c, vmid, spec.sshPublicKey) as never),
          {
            privilegeHint: `VM.Allocate on /vms/${vmid}`,
          },
        );
      } catch (e) {
        const taken = e instanceof ProviderError && e.status === 500 && /already exists/.test(e.detail);
        if (taken && c.vmid === undefined && attempt < 3) continue;
        if (taken)
          throw new ProviderError(
            'proxmox',
            operation,
            `vmid ${vmid} is already in use`,
            c.vmid !== undefined ? 'pick a free connector.vmid, or remove it to let Proxmox choose' : 're-run sync',
            {
              cause: e,
              status: 500,
            },
          );
        throw e;
      }
      this.reporter.step(`lxc/${c.hostname}`, `creating CT ${vmid} on ${node}`);
      await waitForTask(this.#client, upid, operation, { pollMs: this.taskPollMs, timeoutMs: this.taskTimeoutMs });
      this.reporter.done(`lxc/${c.hostname}`, `CT ${vmid} created`);
      return { node, vmid };
    }
  }

  /** Start; a start task refused because the CT is busy waits for the lock holder once, then retries. */
  async startLxc(ref: LxcRef): Promise<void> {
    await this.whenIdle(ref, `start CT ${ref.vmid} on ${ref.node}`, () => this.startOnce(ref));
  }

  private async startOnce(ref: LxcRef): Promise<void> {
    const operation = `start CT ${ref.vmid} on ${ref.node}`;
    let upid: string;
    try {
      upid = await this.#client.call(operation, 'POST', (api) => api.nodes.$(ref.node).lxc.$(ref.vmid).status.start.$post(), {
        privilegeHint: `VM.PowerMgmt on /vms/${ref.vmid}`,
      });
    } catch (e) {
      if (e instanceof ProviderError && e.status === 500 && /already running/.test(e.detail)) return;
      throw e;
    }
    await waitForTask(this.#client, upid, operation, { pollMs: this.taskPollMs, timeoutMs: this.taskTimeoutMs });
  }

  /**
   * Runs a write; when PVE refuses it because the CT is busy (`CT is locked (X)`, or the flock is held:
   * `can't lock file ... - got timeout`, README-pve §4.14) waits for the running task (bounded) and tries
   * once more. Still busy: "busy (lock: X), re-run when task UPID… ends", and nothing else is written.
   */
  private async whenIdle(ref: LxcRef, operation: string, write: () => Promise<void>): Promise<void> {
    try {
      return await write();
    } catch (e) {
      if (!(e instanceof ProviderError) || !BUSY_ERROR.test(e.detail)) throw e;
      const lock = lockOf(e.detail) ?? (await configLock(readVia(this.#client), ref));
      const upid = (await runningTasks(readVia(this.#client), ref))[0]?.upid;
      const idle = await waitUntilIdle(
        readVia(this.#client),
        ref,
        { ...(lock ? { lock } : {}), ...(upid ? { upid } : {}) },
        {
          reporter: this.reporter,
          address: `CT ${ref.vmid}`,
          pollMs: this.taskPollMs,
          deadline: Date.now() + this.busyWaitMs,
        },
      );
      if (idle) {
        try {
          return await write();
        } catch (again) {
          if (!(again instanceof ProviderError) || !BUSY_ERROR.test(again.detail)) throw again;
        }
      }
      const still = (await runningTasks(readVia(this.#client), ref).catch(() => []))[0]?.upid ?? upid;
      throw new ProviderError(
        'proxmox',
        operation,
        `CT ${ref.vmid} is busy (${lock ? `lock: ${lock}` : 'a running task holds its lock'})${still ? `, re-run when task ${still} ends` : ''}`,
        still
          ? `re-run when task ${still} ends (Proxmox UI → ${ref.node} → Tasks)`
          : `re-run when the operation holding the lock ends; a leftover lock is cleared on the node with \`pct unlock ${ref.vmid}\``,
        { cause: e, status: 500 },
      );
    }
  }

  async waitForIp(ref: LxcRef, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ifaces = await this.#client.call(`read interfaces of CT ${ref.vmid}`, 'GET', (api) =>
        api.nodes.$(ref.node).lxc.$(ref.vmid).interfaces.$get(),
      );
      const ip = pickLxcAddress(ifaces as Parameters<typeof pickLxcAddress>[0]);
      if (ip) return ip;
      if (Date.now() > deadline)
        throw new ProviderError(
          'proxmox',
          `wait for an IPv4 address on CT ${ref.vmid}`,
          `no IPv4 address after ${Math.round(timeoutMs / 1000)} s`,
          'check DHCP on the connector bridge, or give connector.network a static ip/gw',
        );
      await new Promise((r) => setTimeout(r, this.taskPollMs));
    }
  }

  async updateLxc(ref: LxcRef, patch: LxcConfigPatch, digest: string): Promise<void> {
    const operation = `update config of CT ${ref.vmid} on ${ref.node}`;
    const params: Record<string, string | number> = { digest };
    if (patch.memory !== undefined) params.memory = patch.memory;
    if (patch.swap !== undefined) params.swap = patch.swap;
    if (patch.cores !== undefined) params.cores = patch.cores;
    if (patch.onboot !== undefined) params.onboot = patch.onboot ? 1 : 0;
    if (patch.net0 !== undefined) params.net0 = patch.net0;
    if (patch.tags !== undefined) params.tags = patch.tags;
    await this.whenIdle(ref, operation, () => this.putConfig(ref, operation, params));
  }

  private async putConfig(ref: LxcRef, operation: string, params: Record<string, string | number>): Promise<void> {
    try {
      await this.#client.call(operation, 'PUT', (api) =>
        api.nodes
          .$(ref.node)
          .lxc.$(ref.vmid)
          .config.$put(params as never),
      );
    } catch (e) {
      if (e instanceof ProviderError && e.status === 500 && /detected modified configuration/.test(e.detail))
        throw new ProviderError(
          'proxmox',
          operation,
          `CT ${ref.vmid} was changed concurrently since the plan was made (config digest differs); nothing was overwritten`,
          're-run sync: it re-reads the container and plans again',
          { cause: e, status: 500 },
        );
      throw e;
    }
  }

  async stopLxc(ref: LxcRef): Promise<void> {
    const operation = `stop CT ${ref.vmid} on ${ref.node}`;
    let upid: string;
    try {
      upid = await this.#client.call(operation, 'POST', (api) => api.nodes.$(ref.node).lxc.$(ref.vmid).status.stop.$post(), {
        privilegeHint: `VM.PowerMgmt on /vms/${ref.vmid}`,
      });
    } catch (e) {
      // pve-container API2/LXC/Status.pm vm_stop: "CT <vmid> not running" — already where we want it.
      if (e instanceof ProviderError && e.status === 500 && /not running/.test(e.detail)) return;
      throw e;
    }
    await waitForTask(this.#client, upid, operation, { pollMs: this.taskPollMs, timeoutMs: this.taskTimeoutMs });
  }

  async destroyLxc(ref: LxcRef): Promise<void> {
    const operation = `destroy CT ${ref.vmid} on ${ref.node}`;
    let upid: string;
    try {
      // purge: also drop the vmid from backup jobs, replication and HA (README-pve §4.12/§4.14);
      // destroy-unreferenced-disks: volumes of this vmid not named in its config go too.
      upid = await this.#client.call(
        operation,
        'DELETE',
        (api) =>
          api.nodes
            .$(ref.node)
            .lxc.$(ref.vmid)
            .$delete({ purge: 1, 'destroy-unreferenced-disks': 1 } as never),
        { privilegeHint: `VM.Allocate on /vms/${ref.vmid}` },
      );
    } catch (e) {
      if (e instanceof ProviderError && e.status === 500 && /does not exist/.test(e.detail)) return;
      if (e instanceof ProviderError && e.status === 500 && /container is running/.test(e.detail))
        throw new ProviderError(
          'proxmox',
          operation,
          `CT ${ref.vmid} is running; Proxmox destroys only stopped containers`,
          're-run destroy: it stops the container first',
          {
            cause: e,
            status: 500,
          },
        );
      throw e;
    }
    await waitForTask(this.#client, upid, operation, { pollMs: this.taskPollMs, timeoutMs: this.taskTimeoutMs });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

export function createProxmox(settings: ProxmoxSettings, options: ProxmoxAdapterOptions = {}): Proxmox {
  return new ProxmoxAdapter(settings, options);
}
