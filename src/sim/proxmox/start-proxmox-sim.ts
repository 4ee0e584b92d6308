import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import schema from './api-schema.json' with { type: 'json' };
import { SimFaults } from './faults.js';
import { type Handler, type HandlerContext, handlers } from './handlers.js';
import type { SimLxcBackend } from './lxc-backend.js';
import { checkPerm, type PermCheck } from './permissions.js';
import { type ParamValue, type PropSchema, validateParams } from './schema-validate.js';
import { loadSeed, type SimSeed } from './seed.js';
import { generateSelfSignedCert } from './self-signed-cert.js';
import { SimError, SimState, type SimTask, type SimToken } from './sim-state.js';

export const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';

export interface ProxmoxSimOptions {
  seed: SimSeed | string;
  /** Latency added to every request (ms). */
  latencyMs?: number;
  /** How long a worker task stays `running` (ms). Default 30. */
  taskDurationMs?: number;
  /** Per task type (`vzcreate`, `download`, `vzstart`, ...), overriding taskDurationMs. */
  taskDurations?: Record<string, number>;
  /** Real containers behind create/start/stop/destroy (e2e tier). */
  backend?: SimLxcBackend;
  /** Plain HTTP instead of HTTPS (debugging only). */
  http?: boolean;
  /** Address(es) handed to started containers without static ip or backend. Default 127.0.0.1 (demo SSH on loopback). */
  connectorIp?: string | string[];
  /**
   * pvestatd's cycle: /cluster/resources shows a guest's status and name as of the last cycle,
   * a new guest `unknown` without a name until the next one (README-pve §4.1, §4.14). Default
   * 10 000 like pvestatd's `$updatetime`; 0 = always live. `Infinity` = only when the test calls `pvestatd()`.
   */
  statusRefreshMs?: number;
  /** How long a worker or config update waits for a CT's flock before `got timeout`. Default 10 000 (lock_config). */
  flockTimeoutMs?: number;
  /** How long a wedged guest agent takes to time out. Default 5000 (QMPClient). */
  agentTimeoutMs?: number;
  /** Delay of 401 answers (a real node waits ~3 s). Default 0. */
  authFailDelayMs?: number;
  port?: number;
  /** Emit vmids in /cluster/resources as strings, as some PVE versions do (clients must coerce). */
  vmidAsString?: boolean;
}

export interface SimRequestLogEntry {
  method: string;
  /** Path after /api2/json, without the query. */
  path: string;
  status: number;
  /** Requests being served when this one arrived, itself included. */
  inFlight: number;
  /** Parameters of POST/PUT/DELETE (for assertions such as "sent once"). */
  params?: Record<string, ParamValue>;
}

export interface SimTokenInfo {
  id: string;
  secret: string;
  privileges: Record<string, string[]>;
}

export interface ProxmoxSim {
  url: string;
  port: number;
  /** SHA-256, colon-separated upper-case hex; empty with `http: true`. */
  fingerprint: string;
  tokens: SimTokenInfo[];
  requests: SimRequestLogEntry[];
  faults: SimFaults;
  /** Live state, for tests that arrange or inspect a situation. */
  state: SimState;
  /** `request` (a SimRequestLogEntry, once answered), `task-start` and `task-end` (a SimTask). */
  events: EventEmitter;
  /** Resolves with the next answered request that matches. */
  nextRequest(match: (e: SimRequestLogEntry) => boolean): Promise<SimRequestLogEntry>;
  /** Run one pvestatd cycle now (refresh /cluster/resources status and names). */
  pvestatd(): void;
  /** Highest number of requests served at once since start (or since resetRequests). */
  maxInFlight(filter?: (e: SimRequestLogEntry) => boolean): number;
  resetRequests(): void;
  close(): Promise<void>;
}

interface EndpointDef {
  method: string;
  path: string;
  check?: PermCheck;
  'check-pve8'?: PermCheck;
  'params-added-pve9'?: string[];
  additionalProperties: number;
  properties: Record<string, PropSchema>;
}

const ENDPOINTS = (schema as unknown as { endpoints: EndpointDef[] }).endpoints;

function matchTemplate(template: string, path: string): Record<string, string> | undefined {
  const t = template.split('/');
  const p = path.split('/');
  if (t.length !== p.length) return undefined;
  const out: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i]!;
    if (seg.startsWith('{')) {
      if (p[i] === '') return undefined;
      out[seg.slice(1, -1)] = decodeURIComponent(p[i]!);
    } else if (seg !== p[i]) return undefined;
  }
  return out;
}

function reasonOf(message: string): string {
  // The status line carries the first line of the message; HTTP forbids control characters there.
  return (message.split('\n')[0] ?? '').replace(/[^\x20-\x7e]/g, '?');
}

function addParam(into: Record<string, ParamValue>, key: string, value: string): void {
  const prev = into[key];
  if (prev === undefined) into[key] = value;
  else into[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

function jsonScalar(v: unknown): string {
  if (v === true) return '1';
  if (v === false) return '0';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startProxmoxSim(options: ProxmoxSimOptions): Promise<ProxmoxSim> {
  const seed = await loadSeed(options.seed);
  const state = new SimState(seed);
  const faults = new SimFaults();
  faults.latencyMs = options.latencyMs ?? 0;
  const taskDurationMs = options.taskDurationMs ?? 30;
  const statusRefreshMs = options.statusRefreshMs ?? 10_000;
  const events = new EventEmitter();
  events.setMaxListeners(100);
  const ipPool = Array.isArray(options.connectorIp) ? options.connectorIp : [options.connectorIp ?? '127.0.0.1'];
  let ipIndex = 0;
  const requests: SimRequestLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let inFlight = 0;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const runTask: HandlerContext['runTask'] = (node, type, id, token, work) => {
    const task = state.newTask(node, type, id, token.id);
    const held = faults.takeHold(type, task.upid);
    events.emit('task-start', task);
    void (held ?? sleep(options.taskDurations?.[type] ?? taskDurationMs)).then(async () => {
      const injected = faults.takeTaskFailure(type);
      const flockTimeout = faults.takeFlockTimeout(type);
      try {
        if (flockTimeout) throw new Error(`can't lock file '/run/lock/lxc/pve-config-${id}.lock' - got timeout`);
        if (injected !== undefined && type !== 'vzcreate') throw new Error(injected);
        await work(taskWithInjection(task, injected));
        if (injected !== undefined) throw new Error(injected);
        task.log.push('TASK OK');
        task.exitstatus = 'OK';
      } catch (e) {
        const msg = (e as Error).message;
        task.log.push(`TASK ERROR: ${msg}`);
        task.exitstatus = msg;
      }
      task.onEnd?.();
      task.endtime = Math.floor(Date.now() / 1000);
      task.status = 'stopped';
      events.emit('task-end', task);
    });
    return task;
  };

  // vzcreate consumes an injected failure inside its own error path, so the config is removed as on PVE.
  function taskWithInjection(task: SimTask, injected: string | undefined): SimTask {
    if (injected !== undefined && task.type === 'vzcreate') {
      const guest = state.guests.get(Number(task.id));
      if (guest) state.guests.delete(guest.vmid);
      task.onEnd?.();
      task.log.push(`extracting archive`);
      throw new Error(`unable to create CT ${task.id} - ${injected}`);
    }
    return task;
  }

  function send(res: ServerResponse, status: number, reason: string, body?: unknown, contentType = PVE_CONTENT_TYPE): void {
    const headers: Record<string, string> = {
      Server: 'pve-api-daemon/3.0',
      'Cache-Control': 'max-age=0',
      Pragma: 'no-cache',
      Expires: new Date().toUTCString(),
    };
    if (status >= 400) headers.Connection = 'close';
    let text = '';
    if (body !== undefined) {
      text = JSON.stringify(body);
      headers['Content-Type'] = contentType;
    }
    headers['Content-Length'] = String(Buffer.byteLength(text));
    res.writeHead(status, reasonOf(reason), headers);
    res.end(text);
  }

  function sendError(res: ServerResponse, e: SimError): void {
    if (e.noBody) return send(res, e.status, e.message);
    const body: Record<string, unknown> = { data: null };
    if (e.errors) body.errors = e.errors;
    body.message = e.status === 501 ? e.message : `${e.message}\n`;
    send(res, e.status, e.message, body);
  }

  function authenticate(req: IncomingMessage): SimToken {
    const header = req.headers.authorization ?? '';
    const m = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(header);
    if (!m) throw new SimError(401, 'No ticket', undefined, true);
    const value = m[1]!;
    const eq = value.lastIndexOf('=');
    const token = eq > 0 ? state.tokens.get(value.slice(0, eq)) : undefined;
    if (!token || token.secret !== value.slice(eq + 1)) throw new SimError(401, 'Authentication failed!', undefined, true);
    return token;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: SimRequestLogEntry): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = (req.method ?? 'GET').toUpperCase();
    entry.path = url.pathname.replace(/^\/api2\/json/, '') || '/';
    const path = entry.path;
    const body = await readBody(req);

    const latency = faults.takeLatency(method, path);
    if (latency > 0) await sleep(latency);
    const hook = faults.takeHook(method, path);
    if (hook) await hook();
    const drop = faults.takeDrop(method, path);
    if (drop === 'before') {
      entry.status = 0;
      req.socket.destroy();
      return;
    }
    const respond = (fn: () => void) => {
      if (drop === 'after') {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      fn();
    };

    try {
      let token: SimToken;
      try {
        token = authenticate(req);
      } catch (e) {
        if (options.authFailDelayMs) await sleep(options.authFailDelayMs);
        throw e;
      }
      const injected = faults.takeFail(method, path);
      if (injected) {
        entry.status = injected.status;
        const msg = injected.message ?? 'Internal Server Error';
        return respond(() =>
          injected.message === undefined && !injected.contentType
            ? send(res, injected.status, msg)
            : send(res, injected.status, msg, { data: null, message: `${msg}\n` }, injected.contentType),
        );
      }
      if (!url.pathname.startsWith('/api2/json/')) throw new SimError(501, `Method '${method} ${url.pathname}' not implemented`);

      let endpoint: EndpointDef | undefined;
      let pathParams: Record<string, string> = {};
      for (const ep of ENDPOINTS) {
        const m = matchTemplate(ep.path, path);
        if (!m) continue;
        if (ep.method === method) {
          endpoint = ep;
          pathParams = m;
          break;
        }
      }
      const handler: Handler | undefined = endpoint && handlers[`${method} ${endpoint.path}`];
      if (!endpoint || !handler) throw new SimError(501, `Method '${method} ${path}' not implemented`);

      const params: Record<string, ParamValue> = {};
      if (body.length > 0) {
        if (method === 'GET' || method === 'DELETE') throw new SimError(501, `Unexpected content for method '${method}'`, undefined, true);
        const ct = req.headers['content-type'] ?? '';
        if (ct.startsWith('application/json')) {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          for (const [k, v] of Object.entries(parsed)) params[k] = Array.isArray(v) ? v.map(jsonScalar) : jsonScalar(v);
        } else {
          for (const [k, v] of new URLSearchParams(body)) addParam(params, k, v);
        }
      }
      // Query parameters override body ones.
      const query: Record<string, ParamValue> = {};
      for (const [k, v] of url.searchParams) addParam(query, k, v);
      Object.assign(params, query);
      delete params._dc;
      for (const [k, v] of Object.entries(pathParams)) {
        if (params[k] !== undefined && params[k] !== v)
          throw new SimError(400, 'duplicate parameter (already defined in URI) with conflicting values!');
        params[k] = v;
      }
      if (method !== 'GET') entry.params = { ...params };

      const check = state.pveVersion === 8 && endpoint['check-pve8'] ? endpoint['check-pve8'] : endpoint.check;
      if (check) checkPerm(token, check, params);

      const node = pathParams.node;
      if (node !== undefined) {
        if (!state.nodes.has(node))
          throw new SimError(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
        if (faults.offline.has(node) || !state.nodes.get(node)!.online) throw new SimError(595, 'No route to host', undefined, true);
      }

      // PVE 8.4 did not know the parameters added in 9 (entrypoint, env, ha-managed): unknown there.
      const properties =
        state.pveVersion === 8 && endpoint['params-added-pve9']
          ? Object.fromEntries(Object.entries(endpoint.properties).filter(([k]) => !endpoint['params-added-pve9']!.includes(k)))
          : endpoint.properties;
      const errors = validateParams(properties, params, endpoint.additionalProperties === 1);
      if (errors) throw new SimError(400, 'Parameter verification failed.', errors);

      const result = await handler({
        state,
        params,
        token,
        backend: options.backend,
        runTask,
        allocateIp: () => ipPool[ipIndex++ % ipPool.length]!,
        statusRefreshMs,
        flockTimeoutMs: options.flockTimeoutMs ?? 10_000,
        agentTimeoutMs: options.agentTimeoutMs ?? 5000,
        sleep,
        vmidAsString: options.vmidAsString ?? false,
        nodeOnline: (name) => (state.nodes.get(name)?.online ?? false) && !faults.offline.has(name),
      });
      entry.status = 200;
      const envelope =
        result && typeof result === 'object' && '__envelope' in result
          ? { data: (result as unknown as { data: unknown }).data, total: (result as unknown as { total: number }).total }
          : { data: result ?? null };
      respond(() => send(res, 200, 'OK', envelope));
    } catch (e) {
      const err = e instanceof SimError ? e : new SimError(500, (e as Error).message);
      entry.status = err.status;
      respond(() => sendError(res, err));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    const entry: SimRequestLogEntry = { method: (req.method ?? 'GET').toUpperCase(), path: req.url ?? '', status: 0, inFlight };
    requests.push(entry);
    handle(req, res, entry)
      .catch((e) => {
        entry.status = 500;
        if (!res.headersSent) sendError(res, new SimError(500, (e as Error).message));
      })
      .finally(() => {
        inFlight--;
        events.emit('request', entry);
      });
  };

  let fingerprint = '';
  let server: Server;
  if (options.http) server = createHttpServer(listener);
  else {
    const cert = await generateSelfSignedCert(seed.nodes[0]?.name ?? 'pve');
    fingerprint = cert.fingerprint;
    server = createHttpsServer({ key: cert.key, cert: cert.cert }, listener);
  }
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  // pvestatd: the first cycle after start is skipped (pvestatd.pm run), so new guests wait a full interval.
  let refresh: NodeJS.Timeout | undefined;
  if (statusRefreshMs > 0 && Number.isFinite(statusRefreshMs)) {
    refresh = setInterval(() => state.pvestatdCycle(), statusRefreshMs);
    refresh.unref();
  }

  return {
    url: `${options.http ? 'http' : 'https'}://127.0.0.1:${port}`,
    port,
    fingerprint,
    tokens: [...state.tokens.values()].map((t) => ({ id: t.id, secret: t.secret, privileges: t.acl })),
    requests,
    faults,
    state,
    events,
    nextRequest: (match) =>
      new Promise((resolve) => {
        const listener = (e: SimRequestLogEntry) => {
          if (!match(e)) return;
          events.off('request', listener);
          resolve(e);
        };
        events.on('request', listener);
      }),
    pvestatd: () => state.pvestatdCycle(),
    maxInFlight: (filter) => requests.filter(filter ?? (() => true)).reduce((m, e) => Math.max(m, e.inFlight), 0),
    resetRequests: () => {
      requests.length = 0;
    },
    close: async () => {
      if (refresh) clearInterval(refresh);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
