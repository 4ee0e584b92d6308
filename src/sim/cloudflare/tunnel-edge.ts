import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { nowIso, type SimConnection, type SimConnector, type SimState, type SimTunnel } from './sim-state.js';

/**
 * The simulated edge's connector endpoint: where cloudflared dials OUT to (the real one dials
 * region1/region2.v2.argotunnel.com:7844 over QUIC or HTTP/2; nothing ever connects in to the
 * connector). A connector is listed on the tunnel's connections endpoint exactly while it holds a
 * registered connection here: the registration disappears when the process exits or is killed
 * (its sockets close), so `GET …/connections` lists the live connectors and nothing else.
 *
 * Protocol (the stand-in cloudflared speaks it, src/sim/standin/cloudflared): one TCP connection
 * per edge connection (cloudflared opens four, `ha-connections`), each carrying JSON objects, one
 * per line (UTF-8, `\n`-terminated):
 *
 *   connector → edge  {"type":"register", "accountTag", "tunnelId", "tunnelSecret" (base64, from
 *                      credentials.json or the token), "connectorId" (a fresh UUID per process),
 *                      "connIndex", "version", "arch", "configVersion"?}
 *   edge → connector  {"type":"registered", "connectionId", "location"}   or
 *                     {"type":"error", "message"} and the edge closes the connection. Messages are
 *                      the real edge's ("Unauthorized: Invalid tunnel secret", cloudflared#426;
 *                      "Unauthorized: Failed to get tunnel" for an unknown or deleted tunnel,
 *                      STRRL/cloudflare-tunnel-ingress-controller#119).
 *   edge → connector  {"type":"request", "id", "method", "path", "headers": [[name, value], …], "body" (base64)}
 *   connector → edge  {"type":"response", "id", "status", "headers": [[name, value], …], "body" (base64)}
 *   edge → connector  {"type":"configuration", "version", "config": {"ingress", "originRequest"?, …}}
 *                      a remotely-managed tunnel's configuration (config_src cloudflare, what
 *                      PUT …/configurations holds), just before `registered` and on every change: the
 *                      real edge's UpdateConfiguration, which cloudflared applies over its
 *                      config.yml when the version is newer than its own (it starts at -1,
 *                      cloudflared orchestration/orchestrator.go `NewOrchestrator`, `UpdateConfig`).
 *   connector → edge  {"type":"unregister"}   graceful shutdown (cloudflared's UnregisterConnection)
 *   edge → connector  {"type":"unregistered"} no request is sent on this connection after it; the
 *                      connector answers the requests that came before it, then closes.
 */

export interface EdgeRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Buffer;
}

export interface EdgeAnswer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/** One registered connection of one connector. */
interface EdgeLink {
  socket: Socket;
  /** One JSON message, one line. */
  send: (message: unknown) => void;
  tunnelId: string;
  connectorId: string;
  connectionId: string;
  /** Set once the connector asked to unregister: no new requests go down this link. */
  draining: boolean;
  pending: Map<number, { resolve: (a: EdgeAnswer) => void; reject: (e: Error) => void }>;
}

/** Colos the simulated edge hands out by connIndex (the connectors' four connections go to two nearby colos, as on the real edge). */
const COLOS = ['fra01', 'ams01', 'fra08', 'ams08'];
const MAX_LINE = 16 * 1024 * 1024;

export interface TunnelEdge {
  /** host:port the connectors dial (written into the stand-in's edge.json). */
  address: string;
  /** Sends a request down one live connection of the tunnel (round robin); undefined when none is live. */
  forward(tunnelId: string, request: EdgeRequest): Promise<EdgeAnswer> | undefined;
  /** Live (registered, not draining) connections of the tunnel. */
  liveConnections(tunnelId: string): number;
  /** The tunnel's configuration changed on Cloudflare: push it down every live connection. */
  configurationChanged(tunnelId: string): void;
  close(): Promise<void>;
}

export async function startTunnelEdge(state: SimState, host = '127.0.0.1'): Promise<TunnelEdge> {
  const links = new Set<EdgeLink>();
  const turn = new Map<string, number>();
  let nextId = 1;

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    let buffer = '';
    let link: EdgeLink | undefined;
    const send = (message: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.length > MAX_LINE) socket.destroy();
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          socket.destroy();
          return;
        }
        if (!link) {
          link = register(message, socket, send);
          if (!link) return;
          continue;
        }
        if (message['type'] === 'response') answer(link, message);
        else if (message['type'] === 'unregister') {
          link.draining = true;
          send({ type: 'unregistered' });
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (link) drop(link);
    });
  });

  function register(message: Record<string, unknown>, socket: Socket, send: (m: unknown) => void): EdgeLink | undefined {
    const refuse = (text: string) => {
      send({ type: 'error', message: text });
      socket.end();
      return undefined;
    };
    if (message['type'] !== 'register') return refuse('expected a register message first');
    const tunnel = state.tunnels.get(String(message['tunnelId'] ?? '').toLowerCase());
    if (!tunnel || tunnel.deleted_at !== null || tunnel.accountId !== message['accountTag'])
      return refuse('Unauthorized: Failed to get tunnel');
    if (!sameSecret(tunnel.secret, String(message['tunnelSecret'] ?? ''))) return refuse('Unauthorized: Invalid tunnel secret');
    const connectorId = String(message['connectorId'] ?? '');
    if (!/^[0-9a-f-]{36}$/i.test(connectorId)) return refuse('connectorId must be a UUID');
    const connIndex = Number(message['connIndex'] ?? 0);
    const link: EdgeLink = {
      socket,
      send,
      tunnelId: tunnel.id,
      connectorId,
      connectionId: randomUUID(),
      draining: false,
      pending: new Map(),
    };
    links.add(link);
    const location = COLOS[connIndex % COLOS.length]!;
    listConnection(tunnel, message, link, location, socket.remoteAddress ?? '127.0.0.1');
    // Before `registered`, so a connector is ready only once it serves Cloudflare's configuration:
    // the real edge sends it right after, a window a health check could fall into either way.
    const configuration = remoteConfiguration(tunnel);
    if (configuration) send(configuration);
    send({ type: 'registered', connectionId: link.connectionId, location });
    return link;
  }

  function answer(link: EdgeLink, message: Record<string, unknown>): void {
    const waiting = link.pending.get(Number(message['id']));
    if (!waiting) return;
    link.pending.delete(Number(message['id']));
    waiting.resolve({
      status: Number(message['status'] ?? 502),
      headers: Array.isArray(message['headers']) ? (message['headers'] as [string, string][]) : [],
      body: Buffer.from(String(message['body'] ?? ''), 'base64'),
    });
  }

  function drop(link: EdgeLink): void {
    links.delete(link);
    for (const waiting of link.pending.values()) waiting.reject(new Error('the connector closed the connection'));
    link.pending.clear();
    const tunnel = state.tunnels.get(link.tunnelId);
    if (!tunnel) return;
    // A cleanup (DELETE …/connections) re-lists a live connector's connections under new ids
    // (sim-state.ts): then this link's entry is one no other live link of the connector claims.
    const claimed = new Set([...links].filter((l) => l.connectorId === link.connectorId).map((l) => l.connectionId));
    tunnel.connectors = tunnel.connectors.flatMap((c) => {
      if (c.id !== link.connectorId) return [c];
      const conns = c.conns.filter((conn) => conn.id !== link.connectionId);
      if (conns.length === c.conns.length) {
        const unclaimed = conns.findIndex((conn) => !claimed.has(conn.id));
        if (unclaimed >= 0) conns.splice(unclaimed, 1);
      }
      return conns.length > 0 ? [{ ...c, conns }] : [];
    });
  }

  function live(tunnelId: string): EdgeLink[] {
    return [...links].filter((l) => l.tunnelId === tunnelId && !l.draining && !l.socket.destroyed);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    address: `${host}:${port}`,
    liveConnections: (tunnelId) => live(tunnelId).length,
    configurationChanged(tunnelId) {
      const tunnel = state.tunnels.get(tunnelId);
      const configuration = tunnel && remoteConfiguration(tunnel);
      if (!configuration) return;
      for (const link of live(tunnelId)) link.send(configuration);
    },
    forward(tunnelId, request) {
      const candidates = live(tunnelId);
      if (candidates.length === 0) return undefined;
      const n = turn.get(tunnelId) ?? 0;
      turn.set(tunnelId, n + 1);
      const link = candidates[n % candidates.length]!;
      const id = nextId++;
      return new Promise<EdgeAnswer>((resolve, reject) => {
        link.pending.set(id, { resolve, reject });
        link.send({
          type: 'request',
          id,
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body.toString('base64'),
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const l of links) l.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the edge pushes to the connectors of a remotely-managed tunnel; nothing for a locally-managed one. */
function remoteConfiguration(tunnel: SimTunnel): { type: 'configuration'; version: number; config: unknown } | undefined {
  if (tunnel.configSrc !== 'cloudflare' || !tunnel.config?.config) return undefined;
  return { type: 'configuration', version: tunnel.config.version, config: tunnel.config.config };
}

/** The credentials carry the secret base64-encoded; compare the bytes, in constant time. */
function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'base64');
  const b = Buffer.from(given, 'base64');
  return a.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

/** The connection as GET …/connections shows it, under its connector (created on its first connection). */
function listConnection(tunnel: SimTunnel, message: Record<string, unknown>, link: EdgeLink, colo: string, originIp: string): void {
  const version = String(message['version'] ?? 'unknown');
  const at = nowIso();
  const conn: SimConnection = {
    id: link.connectionId,
    uuid: link.connectionId,
    client_id: link.connectorId,
    client_version: version,
    colo_name: colo,
    is_pending_reconnect: false,
    opened_at: at,
    origin_ip: originIp.replace(/^::ffff:/, ''),
  };
  const existing = tunnel.connectors.find((c) => c.id === link.connectorId);
  if (existing) {
    tunnel.connectors = tunnel.connectors.map((c) => (c === existing ? { ...c, conns: [...c.conns, conn] } : c));
  } else {
    const connector: SimConnector = {
      id: link.connectorId,
      arch: String(message['arch'] ?? 'linux_amd64'),
      config_version: Number(message['configVersion'] ?? 0),
      features: ['serialized_headers'],
      run_at: at,
      version,
      conns: [conn],
    };
    tunnel.connectors = [...tunnel.connectors, connector];
  }
  tunnel.everConnected = true;
}
