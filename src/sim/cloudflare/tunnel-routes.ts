import { randomBytes, randomUUID } from 'node:crypto';
import { fail, ok, paginate, type SimResponse } from './envelope.js';
import { connectionCount, nowIso, tunnelStatus, tunnelToken, type SimConnector, type SimState, type SimTunnel } from './sim-state.js';

type Body = Record<string, unknown>;

const DUPLICATE_NAME =
  'You already have a tunnel with this name. Delete the existing tunnel, or choose a different name for your new tunnel';

/**
 * A tunnel object as today's API returns it: without `connections`, which list and get
 * stopped returning on 2026-10-05 (changelog 2026-07-09 "Cloudflare Tunnel connections field
 * retiring", developers.cloudflare.com/changelog/post/2026-07-09-tunnel-routes-and-connections-api-changes/;
 * SDK 7.3 marks `CloudflareTunnel.connections` deprecated). Connectors are read from
 * GET .../connections (`listConnections`).
 */
export function presentTunnel(t: SimTunnel): Record<string, unknown> {
  const opened = t.connectors.flatMap((c) => c.conns.map((conn) => conn.opened_at)).sort();
  return {
    id: t.id,
    account_tag: t.accountId,
    created_at: t.created_at,
    deleted_at: t.deleted_at,
    name: t.name,
    conns_active_at: opened[0] ?? null,
    conns_inactive_at: connectionCount(t) === 0 && t.everConnected ? nowIso() : null,
    tun_type: 'cfd_tunnel',
    status: tunnelStatus(t),
    remote_config: t.configSrc === 'cloudflare',
    config_src: t.configSrc,
    metadata: {},
  };
}

function presentConnector(c: SimConnector): Record<string, unknown> {
  return { ...c, features: [...c.features], conns: c.conns.map((conn) => ({ ...conn })) };
}

function accountOrFail(state: SimState, accountId: string): void {
  // Tokens are scoped to accounts; an account the token cannot see answers like missing permission.
  if (!state.accounts.has(accountId)) throw fail(403, 10000, 'Authentication error');
}

function tunnelOrFail(state: SimState, accountId: string, id: string): SimTunnel {
  accountOrFail(state, accountId);
  const t = state.tunnels.get(id);
  // Code not in the reference: the real text for an unknown tunnel id was not captured.
  if (!t || t.accountId !== accountId) throw fail(404, 1003, `Tunnel ${id} not found`);
  return t;
}

function decodedSecretLength(secret: string): number {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(secret) || secret.length % 4 !== 0) return -1;
  return Buffer.from(secret, 'base64').length;
}

export function listTunnels(state: SimState, accountId: string, query: URLSearchParams): SimResponse {
  accountOrFail(state, accountId);
  const name = query.get('name');
  const isDeleted = query.get('is_deleted');
  const uuid = query.get('uuid');
  const include = query.get('include_prefix');
  const exclude = query.get('exclude_prefix');
  const status = query.get('status');
  const tunnels = [...state.tunnels.values()].filter(
    (t) =>
      t.accountId === accountId &&
      (name === null || t.name === name) &&
      // Since 2025-12-01 an omitted is_deleted lists active tunnels only (changelog 2025-09-02
      // "Cloudflare Tunnel and Networks API will no longer return deleted resources by default").
      (isDeleted === null ? t.deleted_at === null : (isDeleted === 'true') === (t.deleted_at !== null)) &&
      (uuid === null || t.id === uuid) &&
      (include === null || t.name.startsWith(include)) &&
      (exclude === null || !t.name.startsWith(exclude)) &&
      (status === null || tunnelStatus(t) === status),
  );
  const { page, info } = paginate(tunnels, query, 20);
  return ok(page.map(presentTunnel), info);
}

export function createTunnel(state: SimState, accountId: string, body: Body): SimResponse {
  accountOrFail(state, accountId);
  const name = String(body['name'] ?? '');
  if (name.trim() === '') throw fail(400, 1003, 'Tunnel name must not be empty');
  const configSrc = body['config_src'] === 'cloudflare' ? 'cloudflare' : 'local';
  let secret = typeof body['tunnel_secret'] === 'string' ? body['tunnel_secret'] : undefined;
  if (secret !== undefined && decodedSecretLength(secret) < 32) {
    throw fail(400, 1003, 'tunnel_secret must be a base64 string of at least 32 bytes');
  }
  secret ??= randomBytes(32).toString('base64');
  if (state.activeTunnelByName(accountId, name)) throw fail(409, 1013, DUPLICATE_NAME);
  const tunnel: SimTunnel = {
    id: randomUUID(),
    accountId,
    name,
    secret,
    configSrc,
    created_at: nowIso(),
    deleted_at: null,
    connectors: [],
    everConnected: false,
    config: undefined,
  };
  state.tunnels.set(tunnel.id, tunnel);
  return ok(presentTunnel(tunnel));
}

export function getTunnel(state: SimState, accountId: string, id: string): SimResponse {
  return ok(presentTunnel(tunnelOrFail(state, accountId, id)));
}

export function editTunnel(state: SimState, accountId: string, id: string, body: Body): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  if (typeof body['name'] === 'string' && body['name'] !== t.name) {
    if (state.activeTunnelByName(accountId, body['name'])) throw fail(409, 1013, DUPLICATE_NAME);
    t.name = body['name'];
  }
  if (typeof body['tunnel_secret'] === 'string') {
    if (decodedSecretLength(body['tunnel_secret']) < 32) {
      throw fail(400, 1003, 'tunnel_secret must be a base64 string of at least 32 bytes');
    }
    t.secret = body['tunnel_secret'];
  }
  return ok(presentTunnel(t));
}

/** Soft delete: the tunnel stays listable with `deleted_at`; live connectors block it (1022). */
export function deleteTunnel(state: SimState, accountId: string, id: string): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  if (connectionCount(t) > 0) {
    // The real answer, as captured in public fixtures (access-ha-health.md §4.1).
    throw fail(400, 1022, 'This tunnel has active connections.');
  }
  t.deleted_at ??= nowIso();
  return ok(presentTunnel(t));
}

export function getToken(state: SimState, accountId: string, id: string): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  if (t.deleted_at !== null) throw fail(404, 1003, `Tunnel ${id} was deleted`);
  return ok(tunnelToken(t));
}

export function getConfiguration(state: SimState, accountId: string, id: string): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  return ok({
    account_id: accountId,
    tunnel_id: t.id,
    config: t.config?.config ?? null,
    source: t.configSrc,
    version: t.config?.version ?? 0,
    created_at: t.config?.created_at ?? t.created_at,
  });
}

export function putConfiguration(state: SimState, accountId: string, id: string, body: Body): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  t.config = { version: (t.config?.version ?? 0) + 1, config: body['config'] ?? null, created_at: nowIso() };
  return getConfiguration(state, accountId, id);
}

/** GET .../connections: one entry per connector (SDK `connections.get`, a SinglePage of `Client`). */
export function listConnections(state: SimState, accountId: string, id: string): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  return ok(t.connectors.map(presentConnector));
}

/** DELETE .../connections[?client_id=]: forgets one connector, or all of them. */
export function deleteConnections(state: SimState, accountId: string, id: string, query: URLSearchParams): SimResponse {
  tunnelOrFail(state, accountId, id);
  state.cleanupConnections(id, query.get('client_id') ?? undefined);
  return ok({});
}

export function getConnector(state: SimState, accountId: string, id: string, connectorId: string): SimResponse {
  const t = tunnelOrFail(state, accountId, id);
  const connector = t.connectors.find((c) => c.id === connectorId);
  // Code not in the reference: the real text for an unknown connector id was not captured.
  if (!connector) throw fail(404, 1003, `Connector ${connectorId} not found`);
  return ok(presentConnector(connector));
}
