import { readFile } from 'node:fs/promises';
import type { ApplyReportEntry } from '../core/errors.js';
import { ApplyError, ProxflareError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { DnsChangeSet, NewDnsRecord, TunnelCredentials } from '../ports/cloudflare.js';
import type { ConnectorHost, ManagedFile } from '../ports/connector.js';
import type { LxcRef } from '../ports/proxmox.js';
import type { Change, CredentialsChange, DnsChange, FileChange, LxcChange, Plan } from '../plan/types.js';
import { TUNNEL_ID_PLACEHOLDER } from '../plan/types.js';
import { MANAGED_PATHS } from '../sync/actual-state.js';
import type { Ports } from '../sync/ports.js';
import { connectTarget } from '../sync/read-actual.js';
import { applyAccessChange, resolveInText } from './access-executors.js';
import { isAccessChange } from '../plan/access-changes.js';

export interface ApplyContext {
  inventory: Inventory;
  ports: Ports;
  reporter: Reporter;
  /** Connection opened while reading, if the connector was reachable then. */
  host: ConnectorHost | undefined;
  /** How long to wait for the connector LXC to get an address. */
  ipTimeoutMs?: number;
  /** How long to wait for another sync's lock on the connector. */
  lockWaitMs?: number;
  /** How long to wait for the restarted connector to show up as tunnel connections. */
  tunnelConnectTimeoutMs?: number;
}

export interface ApplyResult {
  applied: ApplyReportEntry[];
  /** The connection used (left open for the convergence re-read; the caller closes it). */
  host: ConnectorHost | undefined;
  tunnelId: string;
  restarted: boolean;
}

interface Step {
  /** The changes this step carries out; all are reported applied/failed/pending together. */
  changes: Change[];
  run: () => Promise<void>;
}

/**
 * Execute the plan that was shown, in its order. Stops at the first failure and throws
 * ApplyError with what was applied, what failed (with the remote system's message) and
 * what is pending. Every step is idempotent, so re-running sync completes the job.
 */
export async function applyPlan(plan: Plan, ctx: ApplyContext): Promise<ApplyResult> {
  const { inventory, ports, reporter } = ctx;
  const byKind = <K extends Change['kind']>(kind: K) =>
    plan.changes.filter((c): c is Extract<Change, { kind: K }> => c.kind === kind && c.action !== 'noop');

  let host = ctx.host;
  let tunnelId = plan.changes.find((c) => c.kind === 'tunnel')?.after.id ?? TUNNEL_ID_PLACEHOLDER;
  let credentials: TunnelCredentials | undefined;
  let releaseLock: (() => Promise<void>) | undefined;
  let restarted = false;
  // Ids and auds learned while applying (Access); file contents get the aud of an app created earlier in this apply.
  const resolved = new Map<string, string>();
  const resolve = (text: string) => resolveInText(text.split(TUNNEL_ID_PLACEHOLDER).join(tunnelId), resolved);
  const accessCtx = { access: ports.access, reporter, resolved };
  const accessChanges = plan.changes.filter(isAccessChange).filter((c) => c.action !== 'noop');

  const steps: Step[] = [];
  for (const lxc of byKind('lxc')) {
    steps.push({
      changes: [lxc],
      run: async () => {
        host = await applyLxc(lxc, ctx, host);
      },
    });
  }

  for (const tunnel of byKind('tunnel')) {
    steps.push({
      changes: [tunnel],
      run: async () => {
        reporter.step(tunnel.address, 'creating tunnel');
        const created = await ports.cloudflare.createTunnel(tunnel.accountId, tunnel.after.name);
        tunnelId = created.tunnel.id;
        credentials = created.credentials;
        reporter.done(tunnel.address, `id ${tunnelId}`);
      },
    });
  }

  // Fail-closed: Access objects exist (and the app's aud is known) before the connector config naming it.
  for (const change of accessChanges.filter((c) => c.action !== 'delete')) {
    steps.push({ changes: [change], run: () => applyAccessChange(change, accessCtx) });
  }

  const hostChanges = plan.changes.filter((c) => ['package', 'credentials', 'file', 'unit'].includes(c.kind) && c.action !== 'noop');
  const needHost = hostChanges.length > 0;
  if (needHost) {
    // Connect (if the LXC was just created) and take the connector lock before touching it.
    steps.push({
      changes: [],
      run: async () => {
        host ??= await connectToConnector(ctx);
        releaseLock = await host.lock(`tunnel-${inventory.tunnel.name}`, ctx.lockWaitMs ?? 10_000);
      },
    });
  }

  for (const pkg of byKind('package')) {
    steps.push({
      changes: [pkg],
      run: async () => {
        reporter.step(pkg.address, pkg.source.type === 'deb' ? `installing ${pkg.source.path}` : 'installing from apt');
        const version = await requireHost(host).installCloudflared(pkg.source);
        reporter.done(pkg.address, `cloudflared ${version}`);
      },
    });
  }

  const dnsDeletes = byKind('dns').filter((c) => c.action === 'delete');
  if (dnsDeletes.length > 0) {
    steps.push({ changes: dnsDeletes, run: () => applyDns(dnsDeletes, ctx, resolve) });
  }

  const files = byKind('file');
  const credentialsChange = byKind('credentials')[0];
  const unitChange = byKind('unit')[0];
  if (files.length > 0 || credentialsChange || unitChange) {
    const deployChanges: Change[] = [...(credentialsChange ? [credentialsChange] : []), ...files, ...(unitChange ? [unitChange] : [])];
    steps.push({
      changes: deployChanges,
      run: async () => {
        const managed: ManagedFile[] = [];
        if (credentialsChange) {
          credentials ??= await obtainCredentials(credentialsChange, ctx, tunnelId);
          managed.push({ path: credentialsChange.path, content: credentialsFile(credentials), mode: 0o600, sensitive: true });
        }
        for (const f of files) managed.push({ path: f.path, content: resolve(f.after.content), mode: f.after.mode });
        const restart = unitChange?.restart ?? false;
        reporter.step('systemd/cloudflared.service', restart ? 'deploying and restarting cloudflared' : 'deploying files');
        const result = await requireHost(host).deploy({
          files: managed,
          unit: MANAGED_PATHS.unit,
          ...(files.some((f: FileChange) => f.validate) || credentialsChange ? { validateConfig: MANAGED_PATHS.config } : {}),
          restart,
          reloadUnits: files.some((f) => f.path === MANAGED_PATHS.unitFile),
        });
        restarted = result.restarted;
        reporter.done('systemd/cloudflared.service', result.restarted ? 'restarted' : 'files in place');
        if (result.restarted) await waitForTunnelConnections(ctx, tunnelId);
      },
    });
  }

  // Un-protecting: the connector stops checking first (deploy above), then the app goes.
  for (const change of accessChanges.filter((c) => c.action === 'delete')) {
    steps.push({ changes: [change], run: () => applyAccessChange(change, accessCtx) });
  }

  const dnsUpserts = byKind('dns').filter((c) => c.action !== 'delete');
  if (dnsUpserts.length > 0) steps.push({ changes: dnsUpserts, run: () => applyDns(dnsUpserts, ctx, resolve) });

  const applied: ApplyReportEntry[] = [];
  const entry = (c: Change): ApplyReportEntry => ({ address: c.address, action: c.action });
  try {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      try {
        await step.run();
      } catch (err) {
        const failed = step.changes[0] ?? { address: 'connector', action: 'connect' };
        const pending = [...step.changes.slice(1), ...steps.slice(i + 1).flatMap((s) => s.changes)].map(entry);
        // A connection opened during apply is ours to close; the caller closes the one it gave us.
        if (host && host !== ctx.host) await host.close().catch(() => undefined);
        throw new ApplyError(applied, { ...entry(failed as Change), error: describe(err) }, pending);
      }
      applied.push(...step.changes.map(entry));
    }
  } finally {
    if (releaseLock) await releaseLock().catch(() => undefined);
  }
  return { applied, host, tunnelId, restarted };
}

async function applyLxc(change: LxcChange, ctx: ApplyContext, host: ConnectorHost | undefined): Promise<ConnectorHost | undefined> {
  const { ports, reporter, inventory } = ctx;
  let ref: LxcRef | undefined = change.ref;
  if (change.action === 'create') {
    if (change.downloadTemplate) {
      reporter.step(change.address, `downloading template ${change.after.template}`);
      await ports.proxmox.ensureTemplate(change.spec);
    }
    reporter.step(change.address, 'creating container');
    const sshPublicKey = await readFile(inventory.connector.ssh.publicKey, 'utf8');
    ref = await ports.proxmox.createLxc({ connector: change.spec, sshPublicKey });
  } else if (change.patch && ref && change.digest) {
    reporter.step(change.address, 'updating container config');
    await ports.proxmox.updateLxc(ref, change.patch, change.digest);
  }
  if (!ref) return host;
  if (change.action === 'create' || change.start) {
    reporter.step(change.address, 'starting container');
    await ports.proxmox.startLxc(ref);
    reporter.step(change.address, 'waiting for an IPv4 address');
    const ip = await ports.proxmox.waitForIp(ref, ctx.ipTimeoutMs ?? 120_000);
    reporter.done(change.address, `running at ${ip}`);
    // A fresh or restarted container is reached at its (possibly new) address.
    await host?.close();
    return ctx.ports.connect(connectTarget(inventory, inventory.connector.ssh.host ?? ip));
  }
  reporter.done(change.address);
  return host;
}

/**
 * A tunnel whose DNS routes exist but that has no connector answers 1016, so after a (re)start
 * we wait for Cloudflare to report edge connections. Not connecting in time is a warning, not a
 * failure: the service is installed and systemd keeps it retrying (e.g. no Internet yet).
 */
async function waitForTunnelConnections(ctx: ApplyContext, tunnelId: string): Promise<void> {
  const { ports, reporter, inventory } = ctx;
  const address = `tunnel/${inventory.tunnel.name}`;
  const deadline = Date.now() + (ctx.tunnelConnectTimeoutMs ?? 20_000);
  reporter.step(address, 'waiting for the connector to connect to Cloudflare');
  for (;;) {
    const tunnel = await ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name);
    if (tunnel && tunnel.id === tunnelId && tunnel.connections > 0) {
      reporter.done(address, `${tunnel.status}, ${tunnel.connections} connection${tunnel.connections === 1 ? '' : 's'}`);
      return;
    }
    if (Date.now() >= deadline) {
      reporter.warn(
        `${address} has no active connection yet (status ${tunnel?.status ?? 'unknown'}); cloudflared keeps retrying. ` +
          'Check that the connector can reach Cloudflare (outbound 7844/udp+tcp), then `proxflare status`.',
      );
      return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function connectToConnector(ctx: ApplyContext): Promise<ConnectorHost> {
  const { inventory, ports } = ctx;
  if (inventory.connector.ssh.host) return ports.connect(connectTarget(inventory, inventory.connector.ssh.host));
  const state = await ports.proxmox.readState(inventory.connector, []);
  const ip = state.connector?.ip;
  if (!ip) throw new ProxflareError(`lxc/${inventory.connector.hostname} has no IPv4 address; is it running?`);
  return ports.connect(connectTarget(inventory, ip));
}

async function obtainCredentials(change: CredentialsChange, ctx: ApplyContext, tunnelId: string): Promise<TunnelCredentials> {
  ctx.reporter.step(change.address, 'recovering tunnel credentials from the tunnel token');
  return ctx.ports.cloudflare.recoverCredentials(change.accountId, tunnelId);
}

/** cloudflared's credentials file (connection/connection.go `Credentials`). */
function credentialsFile(c: TunnelCredentials): string {
  return `${JSON.stringify({ AccountTag: c.accountTag, TunnelSecret: c.tunnelSecret.reveal(), TunnelID: c.tunnelId, Endpoint: '' })}\n`;
}

async function applyDns(changes: DnsChange[], ctx: ApplyContext, resolve: (s: string) => string): Promise<void> {
  const byZone = new Map<string, DnsChangeSet>();
  for (const c of changes) {
    let set = byZone.get(c.zoneId);
    if (!set) {
      set = { zoneId: c.zoneId, zoneName: c.zoneName, creates: [], updates: [], deletes: [] };
      byZone.set(c.zoneId, set);
    }
    const record = c.after ? ({ ...c.after, content: resolve(c.after.content) } as NewDnsRecord) : undefined;
    if (c.action === 'create' && record) set.creates.push(record);
    else if (c.action === 'update' && record && c.before) set.updates.push({ id: c.before.id, record });
    else if (c.action === 'delete' && c.before) set.deletes.push({ id: c.before.id, name: c.before.name });
  }
  for (const set of byZone.values()) {
    const n = set.creates.length + set.updates.length + set.deletes.length;
    ctx.reporter.step(`dns/${set.zoneName}`, `${n} record change${n === 1 ? '' : 's'}`);
    await ctx.ports.cloudflare.applyDnsChanges(set);
    ctx.reporter.done(`dns/${set.zoneName}`);
  }
}

function requireHost(host: ConnectorHost | undefined): ConnectorHost {
  if (!host) throw new ProxflareError('the connector host is not connected');
  return host;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

