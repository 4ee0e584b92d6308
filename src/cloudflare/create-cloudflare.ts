import { setTimeout as sleep } from 'node:timers/promises';
import { domainToASCII, domainToUnicode } from 'node:url';
import type { SdkClient } from './sdk-resources.js';
import { APIError } from 'cloudflare/core/error';
import { ProviderError } from '../core/errors.js';
import { silentReporter, type Reporter } from '../core/reporter.js';
import { Secret } from '../core/secret.js';
import type { CloudflareSettings } from '../inventory/types.js';
import type {
  Cloudflare as CloudflarePort,
  DnsChangeSet,
  DnsRecord,
  RemoteIngressRule,
  RemoteTunnelConfig,
  TunnelConnector,
  TunnelCredentials,
  TunnelState,
  ZoneRecords,
} from '../ports/cloudflare.js';
import { apiErrorCodes, httpDetail, toProviderError, type CallContext } from './cloudflare-errors.js';
import { batchBody, chunk, FREE_PLAN_BATCH_LIMIT, operationName, recordParam, toOperations, type DnsOperation } from './dns-operations.js';
import { isUnknownOutcome, listOperations, reconcile } from './dns-outcome.js';
import { retryAfterSeconds, type FetchStats } from './guarded-fetch.js';
import { createSdkClient } from './sdk-client.js';
import { credentialsFromToken, generateTunnelSecret } from './tunnel-credentials.js';
import { byCodePoint } from '../core/compare.js';

/**
 * Large pages keep a zone listing to a few requests (the schema allows up to 5,000,000;
 * 5,000 bounds a single response).
 */
export const DNS_PAGE_SIZE = 5000;

export interface CloudflareAdapterOptions {
  reporter?: Reporter;
  /** SDK retries per request (429, 5xx, connection errors). Tunnel creation is never retried. */
  maxRetries?: number;
  /** Total Retry-After this adapter accepts before failing (seconds). */
  maxRateLimitWaitSeconds?: number;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Operations per batch request; the Free plan allows 200. */
  batchSize?: number;
}

export interface CloudflareAdapter extends CloudflarePort {
  /** Requests sent so far (retries included) and Retry-After waited. */
  readonly stats: Readonly<FetchStats>;
}

interface ZoneRef {
  id: string;
  name: string;
}

type SdkRecord = { id?: string; name?: string; type?: string; content?: string; proxied?: boolean; ttl?: number; comment?: string | null };
type SdkTunnel = { id?: string; name?: string; status?: string; created_at?: string; deleted_at?: string | null; config_src?: string };
type ConnectorClient = { id?: string; version?: string; run_at?: string; conns?: { colo_name?: string }[] };

/**
 * No connection count here: tunnel objects stopped carrying `connections` on 2026-10-05
 * (Cloudflare changelog 2026-07-09; SDK 7.3 marks the field deprecated, "will start returning
 * an empty array"). Connectors come from `listConnectors`.
 */
function toTunnelState(t: SdkTunnel): TunnelState {
  return {
    id: t.id ?? '',
    name: t.name ?? '',
    status: t.status ?? 'unknown',
    createdAt: t.created_at ?? '',
    ...(t.config_src === 'cloudflare' || t.config_src === 'local' ? { configSrc: t.config_src } : {}),
  };
}

function toConnector(c: ConnectorClient): TunnelConnector {
  const conns = c.conns ?? [];
  return {
    id: c.id ?? '',
    version: c.version ?? 'unknown',
    runAt: c.run_at ?? '',
    connections: conns.length,
    colos: [...new Set(conns.map((conn) => conn.colo_name ?? '?'))],
  };
}

/** One form for comparing zone names: lower-case ASCII (punycode), as DNS record names are. */
function asciiZoneName(name: string): string {
  const lower = name.toLowerCase().replace(/\.$/, '');
  return domainToASCII(lower) || lower;
}

/** Error 1022 "This tunnel has active connections" (access-ha-health.md §4.1; nport PR #16). */
const TUNNEL_HAS_CONNECTIONS = 1022;

/** The SDK tells "this route does not exist" by 404/405 (7000/7003) — an API without batch. */
function isMissingRoute(err: unknown): boolean {
  if (!(err instanceof APIError)) return false;
  if (err.status === 405) return true;
  if (err.status !== 404) return false;
  const codes = apiErrorCodes(err);
  return codes.length === 0 || codes.some((c) => c === 7000 || c === 7003);
}

class CloudflareSdkAdapter implements CloudflareAdapter {
  readonly stats: FetchStats = { requests: 0, rateLimitWaitSeconds: 0 };
  /** Resolves once the SDK has loaded (see sdk-client.ts): every call awaits it. */
  readonly #client: Promise<SdkClient>;
  readonly #reporter: Reporter;
  readonly #settings: CloudflareSettings;
  readonly #batchSize: number;
  readonly #maxRetries: number;
  readonly #zones = new Map<string, Promise<ZoneRef>>();
  #batchAvailable = true;

  constructor(settings: CloudflareSettings, options: CloudflareAdapterOptions) {
    this.#settings = settings;
    this.#reporter = options.reporter ?? silentReporter;
    this.#batchSize = Math.min(options.batchSize ?? FREE_PLAN_BATCH_LIMIT, FREE_PLAN_BATCH_LIMIT);
    this.#maxRetries = options.maxRetries ?? 4;
    this.#client = createSdkClient(settings, {
      reporter: this.#reporter,
      maxRetries: this.#maxRetries,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.maxRateLimitWaitSeconds !== undefined ? { maxRateLimitWaitSeconds: options.maxRateLimitWaitSeconds } : {}),
      stats: this.stats,
    });
  }

  async #call<T>(ctx: CallContext, fn: () => Promise<T>, hint?: string): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toProviderError(err, ctx, hint);
    }
  }

  #zone(zoneName: string): Promise<ZoneRef> {
    const name = asciiZoneName(zoneName);
    let ref = this.#zones.get(name);
    if (!ref) {
      ref = this.#lookupZone(name);
      this.#zones.set(name, ref);
      // A failed lookup is not cached: the next call may succeed (after a token fix).
      ref.catch(() => this.#zones.delete(name));
    }
    return ref;
  }

  async #lookupZone(name: string): Promise<ZoneRef> {
    const accountId = this.#settings.accountId;
    const ctx: CallContext = { operation: `look up zone ${name}`, permission: 'zone', scope: `zone ${name}` };
    // The zones API stores and filters IDN zones by their Unicode name (a punycode filter finds
    // nothing: cloudflare-go#347) and answers with it (nginx-ui#1914), while the inventory and DNS
    // record names use punycode. So: filter in Unicode, compare in ASCII. An exact name filter
    // matches at most one zone per account: the first page is the answer.
    const page = await this.#call(ctx, async () =>
      (await this.#client).zones.list({ name: domainToUnicode(name) || name, account: { id: accountId }, per_page: 50 }),
    );
    const zone = page.result.find((z) => asciiZoneName(z.name) === name);
    if (!zone) {
      throw new ProviderError(
        'cloudflare',
        ctx.operation,
        `zone ${name} was not found in account ${accountId}`,
        `add ${name} to that Cloudflare account (tunnel CNAMEs only work inside the tunnel's account), fix cloudflare.zones, or give the token "Zone: Zone Read" for ${name}`,
      );
    }
    return { id: zone.id, name };
  }

  async findTunnel(accountId: string, name: string): Promise<TunnelState | undefined> {
    const ctx: CallContext = { operation: `look up tunnel ${name}`, permission: 'tunnel', scope: `account ${accountId}` };
    const page = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.list({ account_id: accountId, name, is_deleted: false, per_page: 50 }),
    );
    const live = (page.result as SdkTunnel[])
      .filter((t) => t.name === name && !t.deleted_at)
      .sort((a, b) => byCodePoint(a.created_at ?? '', b.created_at ?? ''));
    if (live.length > 1) {
      this.#reporter.warn(`tunnel/${name}: ${live.length} tunnels carry this name; using the oldest (${live[0]!.id})`);
    }
    return live[0] ? toTunnelState(live[0]) : undefined;
  }

  async listConnectors(accountId: string, tunnelId: string): Promise<TunnelConnector[]> {
    const ctx: CallContext = {
      operation: `read the connectors of tunnel ${tunnelId}`,
      permission: 'tunnel',
      scope: `account ${accountId}`,
    };
    // GET .../cfd_tunnel/{id}/connections, one `Client` per cloudflared (a single page).
    const page = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.connections.get(tunnelId, { account_id: accountId }),
    );
    return (page.result as ConnectorClient[]).map(toConnector);
  }

  async createTunnel(accountId: string, name: string): Promise<{ tunnel: TunnelState; credentials: TunnelCredentials }> {
    const ctx: CallContext = { operation: `create tunnel ${name}`, permission: 'tunnel', scope: `account ${accountId}` };
    const secret = generateTunnelSecret();
    let created: SdkTunnel & { account_tag?: string };
    try {
      created = await (
        await this.#client
      ).zeroTrust.tunnels.cloudflared.create(
        { account_id: accountId, name, config_src: 'local', tunnel_secret: secret.reveal() },
        // A create is not idempotent: a retried POST after a lost answer would hit our own name (409).
        { maxRetries: 0 },
      );
    } catch (err) {
      if (err instanceof APIError && err.status === 409) {
        throw new ProviderError(
          'cloudflare',
          ctx.operation,
          `a tunnel named ${name} already exists in account ${accountId} ${httpDetail(409, err.errors)}`,
          'proxflare looks the tunnel up by name before creating it, so it was probably created at the same time by another run; re-run sync to use it, or choose another tunnel.name',
          { cause: err, status: 409 },
        );
      }
      throw toProviderError(err, ctx);
    }
    if (!created.id)
      throw new ProviderError(
        'cloudflare',
        ctx.operation,
        'the API answered without a tunnel id',
        're-run sync; it will find the tunnel by name',
      );
    return {
      tunnel: toTunnelState(created),
      credentials: { accountTag: created.account_tag ?? accountId, tunnelId: created.id, tunnelSecret: secret },
    };
  }

  async recoverCredentials(accountId: string, tunnelId: string): Promise<TunnelCredentials> {
    const ctx: CallContext = {
      operation: `recover credentials of tunnel ${tunnelId}`,
      permission: 'tunnel',
      scope: `account ${accountId}`,
    };
    const token = await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.token.get(tunnelId, { account_id: accountId }),
    );
    if (typeof token !== 'string') {
      throw new ProviderError(
        'cloudflare',
        ctx.operation,
        'the API answered without a tunnel token',
        'check the tunnel in the Cloudflare dashboard',
      );
    }
    return credentialsFromToken(new Secret(token), tunnelId, tunnelId);
  }

  async listZoneRecords(zoneName: string): Promise<ZoneRecords> {
    const zone = await this.#zone(zoneName);
    const records: DnsRecord[] = [];
    const seen = new Set<string>();
    let total: number | undefined;
    let pages = 0;
    const operation = `list DNS records of zone ${zone.name}`;
    try {
      const first = await (await this.#client).dns.records.list({ zone_id: zone.id, per_page: DNS_PAGE_SIZE });
      // The SDK asks for the next page until one comes back empty: pages + 1 requests.
      for await (const page of first.iterPages()) {
        pages++;
        // total_count is in the v4 envelope though the SDK's page type does not declare it.
        total ??= (page.result_info as { total_count?: number } | undefined)?.total_count;
        for (const r of page.result as SdkRecord[]) {
          const id = r.id ?? '';
          if (seen.has(id))
            throw new ProviderError(
              'cloudflare',
              operation,
              `record ${id} appeared on two pages (the zone changed during the listing)`,
              're-run',
            );
          seen.add(id);
          records.push({
            id,
            zoneId: zone.id,
            zoneName: zone.name,
            name: (r.name ?? '').toLowerCase(),
            type: r.type ?? '',
            content: r.content ?? '',
            proxied: r.proxied ?? false,
            ttl: r.ttl ?? 1,
            comment: r.comment ?? null,
          });
        }
      }
    } catch (err) {
      // A partial listing is never treated as the zone's content: nothing is planned from it.
      const where = pages > 0 ? ` (stopped after ${records.length} records, at page ${pages + 1})` : '';
      throw toProviderError(err, { operation: operation + where, permission: 'dns', scope: `zone ${zone.name}` });
    }
    if (total !== undefined && records.length !== total) {
      throw new ProviderError(
        'cloudflare',
        operation,
        `got ${records.length} records but the zone reports ${total}; the listing is incomplete and was discarded`,
        're-run; if it persists, the zone is changing while proxflare reads it',
      );
    }
    this.#reporter.debug(`cloudflare: zone ${zone.name}: ${records.length} records in ${pages} page requests`);
    return { zoneId: zone.id, zoneName: zone.name, records };
  }

  async applyDnsChanges(changes: DnsChangeSet): Promise<void> {
    const ops = toOperations(changes);
    if (ops.length === 0) return;
    const batches = chunk(ops, this.#batchSize);
    let applied = 0;
    for (const [i, batch] of batches.entries()) {
      if (!this.#batchAvailable) {
        await this.#applySingly(changes, ops.slice(applied), applied, ops.length);
        return;
      }
      const where = `batch ${i + 1} of ${batches.length} (${listOperations(batch)})`;
      try {
        this.#reporter.debug(`cloudflare: zone ${changes.zoneName}: batch ${i + 1}/${batches.length} (${batch.length} changes)`);
        // Never re-sent by the SDK: a batch whose answer was lost may have been applied, and the
        // same POST again would fail on its own records (81058/81053) and read as a rollback.
        await this.#writeOnce(async () =>
          (await this.#client).dns.records.batch({ zone_id: changes.zoneId, ...batchBody(batch) }, { maxRetries: 0 }),
        );
        applied += batch.length;
      } catch (err) {
        if (isMissingRoute(err)) {
          this.#reporter.debug('cloudflare: the batch endpoint is not available; applying DNS changes one by one');
          this.#batchAvailable = false;
          await this.#applySingly(changes, ops.slice(applied), applied, ops.length);
          return;
        }
        const base = toProviderError(err, {
          operation: `apply DNS changes in zone ${changes.zoneName}`,
          permission: 'dns',
          scope: `zone ${changes.zoneName}`,
        });
        if (isUnknownOutcome(err)) {
          await this.#settleUnknownOutcome(changes, batch, base, `the answer to ${where} was lost`, applied, ops.length);
          applied += batch.length;
          continue;
        }
        const progress = `${where} was rolled back as a whole; ${applied} of ${ops.length} changes were applied before it`;
        throw new ProviderError(
          'cloudflare',
          base.operation,
          `${base.detail}; ${progress}`,
          base.hint ?? 're-run sync: it plans again from what is there now',
          {
            cause: err,
            status: base.status,
          },
        );
      }
    }
  }

  async getTunnelConfiguration(accountId: string, tunnelId: string): Promise<RemoteTunnelConfig | undefined> {
    const ctx: CallContext = {
      operation: `read the configuration of tunnel ${tunnelId}`,
      permission: 'tunnel',
      scope: `account ${accountId}`,
    };
    // SDK 7.3 `configurations.get` → {config: {ingress, originRequest}, source, version} (configurations.d.ts).
    const got = (await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.configurations.get(tunnelId, { account_id: accountId }),
    )) as {
      config?: { ingress?: RemoteIngressRule[]; originRequest?: Record<string, unknown> } | null;
      source?: string;
      version?: number;
    };
    if (!got.config || !Array.isArray(got.config.ingress) || got.config.ingress.length === 0) return undefined;
    return {
      source: got.source === 'cloudflare' ? 'cloudflare' : 'local',
      version: got.version ?? 0,
      ingress: got.config.ingress,
      ...(got.config.originRequest && Object.keys(got.config.originRequest).length > 0 ? { originRequest: got.config.originRequest } : {}),
    };
  }

  async putTunnelConfiguration(
    accountId: string,
    tunnelId: string,
    config: { ingress: RemoteIngressRule[]; originRequest?: Record<string, unknown> },
  ): Promise<number> {
    const ctx: CallContext = {
      operation: `replace the configuration of tunnel ${tunnelId}`,
      permission: 'tunnel',
      scope: `account ${accountId}`,
    };
    // SDK 7.3 `configurations.update(tunnelID, {account_id, config})` = PUT …/configurations, "Replaces the configuration".
    const got = (await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.configurations.update(tunnelId, {
        account_id: accountId,
        config: config as never,
      }),
    )) as { version?: number };
    return got.version ?? 0;
  }

  async deleteTunnelConnections(accountId: string, tunnelId: string): Promise<void> {
    const ctx: CallContext = {
      operation: `clean up the connections of tunnel ${tunnelId}`,
      permission: 'tunnel',
      scope: `account ${accountId}`,
    };
    // SDK 7.3 `connections.delete(tunnelID, {account_id, client_id?})`: no client_id removes every connector.
    await this.#call(ctx, async () =>
      (await this.#client).zeroTrust.tunnels.cloudflared.connections.delete(tunnelId, { account_id: accountId }),
    );
  }

  async deleteTunnel(accountId: string, tunnelId: string): Promise<'deleted' | 'has-connections'> {
    const ctx: CallContext = { operation: `delete tunnel ${tunnelId}`, permission: 'tunnel', scope: `account ${accountId}` };
    try {
      // SDK 7.3 `cloudflared.delete(tunnelID, {account_id})`. Deliberately without `?cascade=true`
      // (what `cloudflared tunnel delete -f` sends): connections are cleaned up explicitly, after
      // cloudflared was stopped, so a connector we do not know about is reported rather than cut off.
      await (await this.#client).zeroTrust.tunnels.cloudflared.delete(tunnelId, { account_id: accountId });
      return 'deleted';
    } catch (err) {
      if (err instanceof APIError && apiErrorCodes(err).includes(TUNNEL_HAS_CONNECTIONS)) return 'has-connections';
      // Deleted meanwhile (another run, the dashboard): the goal is reached.
      if (err instanceof APIError && err.status === 404) return 'deleted';
      throw toProviderError(err, ctx);
    }
  }

  /**
   * Runs a non-idempotent write the SDK must not re-send (`maxRetries: 0`), re-sending it only
   * after an answer that proves it was not carried out: a 429 within the Retry-After budget
   * (the guarded fetch marks a 429 beyond it `x-should-retry: false`).
   */
  async #writeOnce<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const retryable = err instanceof APIError && err.status === 429 && err.headers?.get('x-should-retry') !== 'false';
        if (!retryable || attempt >= this.#maxRetries) throw err;
        await sleep(retryAfterSeconds(err.headers ?? new Headers()) * 1000);
      }
    }
  }

  /**
   * After a write whose outcome is unknown, re-read the zone and say what is actually there.
   * Returns when every operation is in place (the write did go through); throws otherwise.
   */
  async #settleUnknownOutcome(
    changes: DnsChangeSet,
    ops: DnsOperation[],
    base: ProviderError,
    what: string,
    appliedBefore: number,
    total: number,
  ): Promise<void> {
    let records: DnsRecord[];
    try {
      this.#zones.delete(asciiZoneName(changes.zoneName));
      records = (await this.listZoneRecords(changes.zoneName)).records;
    } catch (readErr) {
      const why = readErr instanceof Error ? readErr.message : String(readErr);
      throw new ProviderError(
        'cloudflare',
        base.operation,
        `${base.detail}; ${what}, and re-reading the zone failed too (${why}): it is not known whether its ${ops.length} changes were applied; ${appliedBefore} of ${total} changes were applied before it`,
        'run `proxflare sync --dry-run` to see what is there now, then sync again',
        { cause: base, status: base.status },
      );
    }
    const { inPlace, missing } = reconcile(ops, records);
    if (missing.length === 0) {
      this.#reporter.warn(
        `cloudflare: zone ${changes.zoneName}: ${what}; re-reading the zone shows all ${ops.length} of its changes in place`,
      );
      return;
    }
    const found =
      inPlace.length === 0
        ? `re-reading the zone shows none of its ${ops.length} changes in place`
        : `re-reading the zone shows ${inPlace.length} of its ${ops.length} changes in place (${listOperations(inPlace)}) and ${missing.length} not (${listOperations(missing)})`;
    throw new ProviderError(
      'cloudflare',
      base.operation,
      `${base.detail}; ${what}; ${found}; ${appliedBefore + inPlace.length} of ${total} changes are in place`,
      're-run sync: it plans again from what is there now',
      { cause: base, status: base.status },
    );
  }

  async #applySingly(changes: DnsChangeSet, ops: DnsOperation[], alreadyApplied: number, total: number): Promise<void> {
    const zone_id = changes.zoneId;
    let applied = alreadyApplied;
    for (const op of ops) {
      const ctx: CallContext = {
        operation: `${op.kind === 'delete' ? 'delete' : op.kind === 'put' ? 'update' : 'create'} DNS record ${operationName(op)} in zone ${changes.zoneName}`,
        permission: 'dns',
        scope: `zone ${changes.zoneName}`,
      };
      try {
        if (op.kind === 'delete') await (await this.#client).dns.records.delete(op.id, { zone_id });
        else if (op.kind === 'put') await (await this.#client).dns.records.update(op.id, { zone_id, ...recordParam(op.record) });
        // A create is not idempotent: never re-sent after a lost answer (see the batch above).
        else
          await this.#writeOnce(async () =>
            (await this.#client).dns.records.create({ zone_id, ...recordParam(op.record) }, { maxRetries: 0 }),
          );
      } catch (err) {
        // A delete retried after a lost answer finds the record gone: that is the goal reached.
        if (op.kind === 'delete' && err instanceof APIError && err.status === 404 && apiErrorCodes(err).includes(81044)) {
          applied++;
          continue;
        }
        const base = toProviderError(err, ctx);
        if (isUnknownOutcome(err)) {
          await this.#settleUnknownOutcome(changes, [op], base, `the answer to ${op.kind} ${operationName(op)} was lost`, applied, total);
          applied++;
          continue;
        }
        throw new ProviderError(
          'cloudflare',
          base.operation,
          `${base.detail}; ${applied} of ${total} changes were applied before it`,
          base.hint,
          {
            cause: err,
            status: base.status,
          },
        );
      }
      applied++;
    }
  }
}

/** The Cloudflare port over the official SDK. One instance per run: it caches zone ids. */
export function createCloudflare(settings: CloudflareSettings, options: CloudflareAdapterOptions = {}): CloudflareAdapter {
  return new CloudflareSdkAdapter(settings, options);
}
