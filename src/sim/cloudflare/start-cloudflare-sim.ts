import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchRecords, createRecord, deleteRecord, getRecord, listRecords, updateRecord } from './dns-routes.js';
import { failureBody, fail, SimApiError, type SimResponse } from './envelope.js';
import { SimFaults } from './faults.js';
import { RequestValidator, type MatchedOperation, type ValidationProblem } from './request-validator.js';
import { ALL_PERMISSIONS, PERMISSIONS, SimState, type SeedRecord, type SimAccount, type SimToken, type ZonePlan } from './sim-state.js';
import {
  createTunnel,
  deleteConnections,
  deleteTunnel,
  editTunnel,
  getConfiguration,
  getConnector,
  getTunnel,
  getToken,
  listConnections,
  listTunnels,
  putConfiguration,
} from './tunnel-routes.js';
import { getZone, listZones } from './zone-routes.js';
import { verifyToken } from './token-routes.js';
import { AccessSimState, accessOperations, accessRequestValidator } from './access-routes.js';
import { startTunnelEdge } from './tunnel-edge.js';
import { readBody, startPublicEdge } from './public-edge.js';

export const SIM_BASE_PATH = '/client/v4';
export const DEFAULT_SIM_ACCOUNT_ID = '0123456789abcdef0123456789abcdef';
export const DEFAULT_SIM_TOKEN = 'sim-token-all-permissions';

export interface CloudflareSimOptions {
  accounts?: SimAccount[];
  zones?: { name: string; plan?: ZonePlan; accountId?: string; recordQuota?: number; records?: SeedRecord[] }[];
  /** Default: one token (DEFAULT_SIM_TOKEN) with every permission. */
  tokens?: SimToken[];
  latencyMs?: number;
  /** Serve POST /dns_records/batch (default true); false answers like an API without the route. */
  batch?: boolean;
  /** Zero Trust team name (default `homelab`); null: the account has no Zero Trust organization yet. */
  accessTeam?: string | null;
  /**
   * Address the edge listens on for connectors and visitors (default 127.0.0.1); the e2e tests
   * give the test bridge's host address, so a stand-in cloudflared inside a container reaches it.
   */
  edgeHost?: string;
}

export interface SimRequest {
  method: string;
  /** Below the base path, e.g. `/zones/<id>/dns_records`. */
  path: string;
  query: string;
  operationId: string | undefined;
  /** HTTP status sent; -1: connection dropped before handling, -2: handled, answer dropped. */
  status: number;
  body: unknown;
  /** ms since the epoch when the request arrived. */
  at: number;
  /** Non-empty when the request did not conform to the API schema. */
  problems: ValidationProblem[];
}

export interface CloudflareSim {
  /** Use as the SDK `baseURL`. */
  url: string;
  state: SimState;
  requests: SimRequest[];
  /** Requests rejected because they did not conform to the API schema. */
  validationFailures: SimRequest[];
  faults: SimFaults;
  features: { batch: boolean };
  accountId: string;
  token: string;
  /** Cloudflare Access state; its team certs are served at `<url origin>/cdn-cgi/access/certs`. */
  access: AccessSimState;
  /** The team domain's certs endpoint on loopback (stands in for https://<team>.cloudflareaccess.com/cdn-cgi/access/certs). */
  accessCertsUrl: string;
  /**
   * The simulated edge: `connectors` is the host:port a stand-in cloudflared dials (tunnel-edge.ts),
   * `url` where a visitor's request for any hostname goes, Host header kept (public-edge.ts);
   * `httpsUrl` the same over TLS, its certificates signed by `caPem`.
   */
  edge: { connectors: string; url: string; httpsUrl: string; caPem: string };
  close(): Promise<void>;
}

type Handler = (state: SimState, p: Record<string, string>, query: URLSearchParams, body: Record<string, unknown>) => SimResponse;

/** What each operation needs from the token; any one of `anyOf` is enough. */
const OPERATIONS: Record<string, { anyOf: string[]; handle: Handler }> = {
  'zones-get': { anyOf: [PERMISSIONS.zoneRead], handle: (s, _p, q) => listZones(s, q) },
  'zones-0-get': { anyOf: [PERMISSIONS.zoneRead], handle: (s, p) => getZone(s, p['zone_id']!) },
  'dns-records-for-a-zone-list-dns-records': {
    anyOf: [PERMISSIONS.dnsRead, PERMISSIONS.dnsEdit],
    handle: (s, p, q) => listRecords(s, p['zone_id']!, q),
  },
  'dns-records-for-a-zone-dns-record-details': {
    anyOf: [PERMISSIONS.dnsRead, PERMISSIONS.dnsEdit],
    handle: (s, p) => getRecord(s, p['zone_id']!, p['dns_record_id']!),
  },
  'dns-records-for-a-zone-create-dns-record': { anyOf: [PERMISSIONS.dnsEdit], handle: (s, p, _q, b) => createRecord(s, p['zone_id']!, b) },
  'dns-records-for-a-zone-update-dns-record': {
    anyOf: [PERMISSIONS.dnsEdit],
    handle: (s, p, _q, b) => updateRecord(s, p['zone_id']!, p['dns_record_id']!, b, false),
  },
  'dns-records-for-a-zone-patch-dns-record': {
    anyOf: [PERMISSIONS.dnsEdit],
    handle: (s, p, _q, b) => updateRecord(s, p['zone_id']!, p['dns_record_id']!, b, true),
  },
  'dns-records-for-a-zone-delete-dns-record': {
    anyOf: [PERMISSIONS.dnsEdit],
    handle: (s, p) => deleteRecord(s, p['zone_id']!, p['dns_record_id']!),
  },
  'x-derived-dns-records-batch': { anyOf: [PERMISSIONS.dnsEdit], handle: (s, p, _q, b) => batchRecords(s, p['zone_id']!, b) },
  'cloudflare-tunnel-list-cloudflare-tunnels': {
    anyOf: [PERMISSIONS.tunnelRead, PERMISSIONS.tunnelEdit],
    handle: (s, p, q) => listTunnels(s, p['account_id']!, q),
  },
  'cloudflare-tunnel-create-a-cloudflare-tunnel': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p, _q, b) => createTunnel(s, p['account_id']!, b),
  },
  'cloudflare-tunnel-get-a-cloudflare-tunnel': {
    anyOf: [PERMISSIONS.tunnelRead, PERMISSIONS.tunnelEdit],
    handle: (s, p) => getTunnel(s, p['account_id']!, p['tunnel_id']!),
  },
  'cloudflare-tunnel-update-a-cloudflare-tunnel': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p, _q, b) => editTunnel(s, p['account_id']!, p['tunnel_id']!, b),
  },
  'cloudflare-tunnel-delete-a-cloudflare-tunnel': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p) => deleteTunnel(s, p['account_id']!, p['tunnel_id']!),
  },
  // The token grants full control of the tunnel, so reading it needs Edit.
  'cloudflare-tunnel-get-a-cloudflare-tunnel-token': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p) => getToken(s, p['account_id']!, p['tunnel_id']!),
  },
  'cloudflare-tunnel-list-cloudflare-tunnel-connections': {
    anyOf: [PERMISSIONS.tunnelRead, PERMISSIONS.tunnelEdit],
    handle: (s, p) => listConnections(s, p['account_id']!, p['tunnel_id']!),
  },
  'cloudflare-tunnel-clean-up-cloudflare-tunnel-connections': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p, q) => deleteConnections(s, p['account_id']!, p['tunnel_id']!, q),
  },
  'cloudflare-tunnel-get-cloudflare-tunnel-connector': {
    anyOf: [PERMISSIONS.tunnelRead, PERMISSIONS.tunnelEdit],
    handle: (s, p) => getConnector(s, p['account_id']!, p['tunnel_id']!, p['connector_id']!),
  },
  'cloudflare-tunnel-configuration-get-configuration': {
    anyOf: [PERMISSIONS.tunnelRead, PERMISSIONS.tunnelEdit],
    handle: (s, p) => getConfiguration(s, p['account_id']!, p['tunnel_id']!),
  },
  'cloudflare-tunnel-configuration-put-configuration': {
    anyOf: [PERMISSIONS.tunnelEdit],
    handle: (s, p, _q, b) => putConfiguration(s, p['account_id']!, p['tunnel_id']!, b),
  },
};

let sharedValidator: RequestValidator | undefined;

/** A stateful Cloudflare API (v4) for the tunnel, zone and DNS subset, on 127.0.0.1. */
export async function startCloudflareSim(options: CloudflareSimOptions = {}): Promise<CloudflareSim> {
  sharedValidator ??= new RequestValidator();
  const validator = sharedValidator;
  const state = new SimState();
  const accounts = options.accounts ?? [{ id: DEFAULT_SIM_ACCOUNT_ID, name: 'Homelab' }];
  for (const a of accounts) state.addAccount(a);
  const tokens = options.tokens ?? [{ token: DEFAULT_SIM_TOKEN, permissions: ALL_PERMISSIONS }];
  for (const t of tokens) state.tokens.set(t.token, t);
  for (const z of options.zones ?? []) {
    state.addZone({ name: z.name, accountId: z.accountId ?? accounts[0]!.id, plan: z.plan, recordQuota: z.recordQuota });
    for (const r of z.records ?? []) state.seedRecord(z.name, r);
  }

  const access = new AccessSimState(options.accessTeam === undefined ? 'homelab' : options.accessTeam);
  const operations = { ...OPERATIONS, ...accessOperations(state, access) };
  const accessValidator = accessRequestValidator();
  const faults = new SimFaults();
  faults.latencyMs = options.latencyMs ?? 0;
  const features = { batch: options.batch ?? true };
  const requests: SimRequest[] = [];
  const validationFailures: SimRequest[] = [];

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the simulator must be loud, not a hanging client.
      if (!res.headersSent) send(res, 500, failureBody([{ code: 10001, message: `simulator error: ${String(err)}` }]));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = Date.now();
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname.startsWith(SIM_BASE_PATH) ? url.pathname.slice(SIM_BASE_PATH.length) || '/' : url.pathname;
    const entry: SimRequest = {
      method,
      path,
      query: url.search.replace(/^\?/, ''),
      operationId: undefined,
      status: 0,
      body: undefined,
      at,
      problems: [],
    };
    requests.push(entry);

    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    let dropAnswer = false;
    for (const fault of faults.take(method, path, entry.query)) {
      if (fault.kind === 'latency') await sleep(fault.ms);
      else if (fault.kind === 'drop-answer') dropAnswer = true;
      else if (fault.kind === 'drop') {
        entry.status = -1;
        req.socket.destroy();
        return;
      } else if (fault.kind === 'rate-limit') {
        entry.status = 429;
        send(res, 429, failureBody([{ code: 971, message: 'Please wait and consider throttling your request speed' }]), {
          'retry-after': String(fault.retryAfter),
        });
        return;
      } else {
        entry.status = fault.status;
        send(res, fault.status, failureBody([{ code: 10001, message: 'Internal Server Error' }]));
        return;
      }
    }

    let response: SimResponse;
    try {
      if (method === 'GET' && url.pathname === '/cdn-cgi/access/certs') {
        response = { status: 200, body: access.certs() };
        entry.status = 200;
        send(res, 200, response.body);
        return;
      }
      if (!url.pathname.startsWith(SIM_BASE_PATH)) throw fail(404, 7003, 'No route for the URI');
      const verified = method === 'GET' ? verifyToken(state, path, req.headers['authorization']) : undefined;
      if (verified) {
        entry.status = verified.status;
        send(res, verified.status, verified.body);
        return;
      }
      let routeValidator = validator;
      let route = validator.match(method, path);
      if (route.kind === 'no-route' && accessValidator.match(method, path).kind !== 'no-route') {
        routeValidator = accessValidator;
        route = accessValidator.match(method, path);
      }
      if (
        route.kind === 'no-route' ||
        (route.kind === 'found' && route.operation.operationId === 'x-derived-dns-records-batch' && !features.batch)
      ) {
        throw fail(404, 7003, 'No route for the URI');
      }
      if (route.kind === 'method-not-allowed') throw fail(405, 7001, 'Method not allowed');
      entry.operationId = route.operation.operationId;
      const body = parseBody(raw, entry);
      authorize(req, route.operation);
      const problems = routeValidator.validate(method, route.operation, url.searchParams, body, raw.length > 0);
      if (problems.length > 0) {
        entry.problems = problems;
        validationFailures.push(entry);
        throw new SimApiError(
          400,
          problems.map((p) => ({ code: p.where === 'body' ? 9207 : 9106, message: `Invalid ${p.where}: ${p.message}` })),
        );
      }
      const op = operations[route.operation.operationId];
      if (!op) throw fail(404, 7003, 'No route for the URI');
      response = op.handle(state, route.operation.params, url.searchParams, (body ?? {}) as Record<string, unknown>);
      if (route.operation.operationId === 'cloudflare-tunnel-configuration-put-configuration' && response.status === 200)
        tunnelEdge.configurationChanged(String(route.operation.params['tunnel_id']).toLowerCase());
    } catch (err) {
      if (!(err instanceof SimApiError)) throw err;
      response = { status: err.status, body: failureBody(err.errors), headers: err.headers };
    }
    entry.status = response.status;
    if (dropAnswer) {
      entry.status = -2;
      req.socket.destroy();
      return;
    }
    send(res, response.status, response.body, response.headers);
  }

  function authorize(req: IncomingMessage, op: MatchedOperation): void {
    const header = req.headers['authorization'];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    // API tokens are [A-Za-z0-9_-]; anything else is refused before authentication with
    // 400 6003/6111 (observed payloads: jeessy2/ddns-go#916, cloudflare/workers-sdk#5175).
    if (token !== undefined && !/^[A-Za-z0-9_-]+$/.test(token)) {
      throw new SimApiError(400, [
        {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
        },
      ]);
    }
    const known = token === undefined ? undefined : state.tokens.get(token);
    if (!known || (known.status ?? 'active') !== 'active') throw fail(401, 10000, 'Authentication error');
    const needs = operations[op.operationId]?.anyOf ?? [];
    if (needs.length > 0 && !needs.some((p) => known.permissions.includes(p))) throw fail(403, 10000, 'Authentication error');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const tunnelEdge = await startTunnelEdge(state, options.edgeHost);
  const publicEdge = await startPublicEdge(state, access, tunnelEdge, options.edgeHost);

  return {
    url: `http://127.0.0.1:${port}${SIM_BASE_PATH}`,
    state,
    requests,
    validationFailures,
    faults,
    features,
    accountId: accounts[0]!.id,
    token: tokens[0]!.token,
    access,
    accessCertsUrl: `http://127.0.0.1:${port}/cdn-cgi/access/certs`,
    edge: { connectors: tunnelEdge.address, url: publicEdge.url, httpsUrl: publicEdge.httpsUrl, caPem: publicEdge.caPem },
    close: async () => {
      await publicEdge.close();
      await tunnelEdge.close();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function parseBody(raw: Buffer, entry: SimRequest): unknown {
  if (raw.length === 0) return undefined;
  try {
    entry.body = JSON.parse(raw.toString('utf8'));
    return entry.body;
  } catch {
    entry.body = raw.toString('utf8').slice(0, 200);
    throw fail(400, 6007, 'Malformed JSON in request body');
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
