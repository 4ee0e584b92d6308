import { createPublicKey, createVerify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import { EdgeCertificates } from './edge-certificates.js';
import type { AccessSimState, SimAccessApp } from './access-state.js';
import type { SimState, SimZone } from './sim-state.js';
import type { TunnelEdge } from './tunnel-edge.js';

/**
 * The simulated public edge: what a visitor's `https://<hostname>/` reaches, on loopback, over
 * HTTPS and plain HTTP (the Host header names the site). It serves a hostname the way Cloudflare's
 * edge serves a tunnel route, and refuses it the way the real edge does:
 *
 * - over HTTPS, the certificate is the zone's Universal SSL one (edge-certificates.ts): a
 *   hostname more than one level below its zone has none, and the handshake fails ("Deeper
 *   subdomains … will not serve a valid certificate", cloudflare-docs
 *   ssl/edge-certificates/universal-ssl/limitations; browsers show
 *   ERR_SSL_VERSION_OR_CIPHER_MISMATCH);
 * - a host in no zone of the simulator gets no answer at all (the connection is closed): in
 *   real life its name does not resolve to Cloudflare, so a visitor never reaches the edge (a
 *   request forced onto a Cloudflare IP would get error 1001 "DNS resolution error", "A web
 *   request was sent to a Cloudflare IP address for a non-existent Cloudflare domain",
 *   cloudflare-docs …/cloudflare-1xxx-errors/error-1001.mdx);
 * - a host of a zone without a proxied CNAME to `<tunnel-id>.cfargotunnel.com` of a tunnel of the
 *   same account (no record, DNS-only, a deleted tunnel) gets 530 with error 1016 "Origin DNS
 *   error" ("Cloudflare cannot resolve the origin web server's IP address", error-1016.mdx; the
 *   cfargotunnel.com name "will only proxy traffic for a DNS record in the same Cloudflare
 *   account", routing-to-tunnel/dns; HTTP 530 with 1016 as seen in hostinger/api#54);
 * - an Access application on the host answers 302 to the team's login page
 *   (`https://<team>.cloudflareaccess.com/cdn-cgi/access/login/<host>?kid=<aud>&…`,
 *   access-ha-health.md §1.7) unless the request carries a valid Access JWT for the app's aud
 *   (`Cf-Access-Jwt-Assertion` or the `CF_Authorization` cookie) or a service token a policy of
 *   the app includes (`CF-Access-Client-Id` / `CF-Access-Client-Secret`); the edge then adds the
 *   JWT for the connector's own check;
 * - a tunnel without a live connection gets 530 with error 1033 "Argo Tunnel error" (error-1033.mdx:
 *   "Ensure that cloudflared is running and can reach the network");
 * - otherwise the request goes down one live connection (round robin) and the connector's
 *   answer — from the origin its own config.yml routes to — is the visitor's answer.
 */
export interface PublicEdge {
  /** e.g. http://127.0.0.1:40123: send any hostname's request here with its Host header. */
  url: string;
  /** e.g. https://127.0.0.1:40124: the same over TLS, with the hostname as SNI; its certificates are signed by `caPem`. */
  httpsUrl: string;
  caPem: string;
  close(): Promise<void>;
}

export async function startPublicEdge(
  state: SimState,
  access: AccessSimState,
  tunnels: TunnelEdge,
  host = '127.0.0.1',
): Promise<PublicEdge> {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) errorPage(res, 502, 502, 'Bad gateway', hostOf(req));
      else res.destroy();
    });
  };
  const certificates = await EdgeCertificates.create();
  const server: Server = createServer(handle);
  const tlsServer = createHttpsServer(
    {
      // No context for a name: the server has no certificate to offer, and the handshake ends in
      // a handshake_failure alert, as the real edge's does.
      SNICallback: (servername, done) =>
        void certificateFor(servername).then(
          (context) => done(null, context),
          (err: Error) => done(err),
        ),
    },
    handle,
  );

  /** The zone's certificate when it covers `servername`, else none; a host in no zone never gets here in real life. */
  async function certificateFor(servername: string): Promise<SecureContext | undefined> {
    const name = servername.replace(/\.$/, '').toLowerCase();
    const zone = zoneOf(state, name);
    if (!zone) throw new Error(`no zone for ${name}`);
    const below = name === zone.asciiName ? '' : name.slice(0, -zone.asciiName.length - 1);
    return below.includes('.') ? undefined : certificates.forZone(zone.asciiName);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const hostname = hostOf(req);
    const zone = zoneOf(state, hostname);
    if (!zone) {
      req.socket.destroy();
      return;
    }
    const record = [...zone.records.values()].find((r) => r.name === hostname && r.type === 'CNAME' && r.proxied);
    const tunnelId = /^([0-9a-f-]{36})\.cfargotunnel\.com$/i.exec(record?.content ?? '')?.[1]?.toLowerCase();
    const tunnel = tunnelId ? state.tunnels.get(tunnelId) : undefined;
    if (!tunnel || tunnel.deleted_at !== null || tunnel.accountId !== zone.accountId) {
      errorPage(res, 530, 1016, 'Origin DNS error', hostname);
      return;
    }
    const path = req.url ?? '/';
    const headers = Object.entries(req.headers).flatMap(([k, v]): [string, string][] =>
      v === undefined ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]),
    );
    const app = accessApp(access, hostname, path);
    if (app) {
      const jwt = accessJwt(access, app, req);
      if (!jwt) {
        const login = `https://${access.teamName}.cloudflareaccess.com/cdn-cgi/access/login/${hostname}?kid=${app.aud}&redirect_url=${encodeURIComponent(path)}`;
        res.writeHead(302, { location: login, 'content-length': 0 });
        res.end();
        return;
      }
      headers.push(['cf-access-jwt-assertion', jwt]);
    }
    const answer = tunnels.forward(tunnel.id, { method: req.method ?? 'GET', path, headers, body });
    if (!answer) {
      errorPage(res, 530, 1033, 'Argo Tunnel error', hostname);
      return;
    }
    const got = await answer;
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of got.headers) {
      const key = k.toLowerCase();
      if (['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(key)) continue;
      out[key] = out[key] === undefined ? v : [...(Array.isArray(out[key]) ? out[key] : [out[key]]), v];
    }
    res.writeHead(got.status, { ...out, 'content-length': got.body.length });
    res.end(got.body);
  }

  const listen = (s: Server) =>
    new Promise<number>((resolve, reject) => {
      s.once('error', reject);
      s.listen(0, host, () => resolve((s.address() as AddressInfo).port));
    });
  const close = (s: Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  const [port, tlsPort] = await Promise.all([listen(server), listen(tlsServer)]);
  return {
    url: `http://${host}:${port}`,
    httpsUrl: `https://${host}:${tlsPort}`,
    caPem: certificates.caPem,
    close: async () => {
      await Promise.all([close(server), close(tlsServer)]);
      await certificates.close();
    },
  };
}

function hostOf(req: IncomingMessage): string {
  return (req.headers.host ?? '').replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
}

/** The zone whose name is the host or its longest parent (ASCII forms, as record names are stored). */
function zoneOf(state: SimState, hostname: string): SimZone | undefined {
  let best: SimZone | undefined;
  for (const z of state.zones.values()) {
    if ((hostname === z.asciiName || hostname.endsWith(`.${z.asciiName}`)) && (!best || z.asciiName.length > best.asciiName.length))
      best = z;
  }
  return best;
}

/** The self-hosted app covering this host and path (an app's domain may carry a path). */
function accessApp(access: AccessSimState, hostname: string, path: string): SimAccessApp | undefined {
  return [...access.apps.values()].find((a) => {
    const [domainHost, ...rest] = a.domain.toLowerCase().split('/');
    const prefix = rest.length > 0 ? `/${rest.join('/')}` : '';
    return domainHost === hostname && path.startsWith(prefix);
  });
}

/** The JWT the edge forwards for an allowed request, or undefined (send the visitor to the login page). */
function accessJwt(access: AccessSimState, app: SimAccessApp, req: IncomingMessage): string | undefined {
  const presented = header(req, 'cf-access-jwt-assertion') ?? /(?:^|;\s*)CF_Authorization=([^;]+)/.exec(header(req, 'cookie') ?? '')?.[1];
  if (presented && validJwt(access, presented, app.aud)) return presented;
  const clientId = header(req, 'cf-access-client-id');
  const clientSecret = header(req, 'cf-access-client-secret');
  if (clientId && clientSecret) {
    const token = [...access.serviceTokens.values()].find((t) => t.client_id === clientId && t.client_secret === clientSecret);
    const allowed =
      token !== undefined &&
      app.policyIds.some((id) => {
        const policy = access.policies.get(id);
        return policy !== undefined && JSON.stringify(policy.include).includes(`"token_id":"${token.id}"`);
      });
    if (allowed) return access.signJwt({ aud: app.aud, email: '' });
  }
  return undefined;
}

function validJwt(access: AccessSimState, token: string, aud: string): boolean {
  const [head, payload, signature] = token.split('.');
  if (!head || !payload || !signature) return false;
  try {
    const keys = (access.certs() as { keys: { kid: string; kty: string; n: string; e: string }[] }).keys;
    const kid = (JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { kid?: string }).kid;
    const jwk = keys.find((k) => k.kid === kid);
    if (!jwk) return false;
    const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    if (!createVerify('RSA-SHA256').update(`${head}.${payload}`).verify(key, Buffer.from(signature, 'base64url'))) return false;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { aud?: string | string[]; exp?: number };
    const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    return auds.includes(aud) && (claims.exp ?? 0) * 1000 > Date.now();
  } catch {
    return false;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Cloudflare's error page: the status in the header, the 1xxx code in the HTML body. */
function errorPage(res: ServerResponse, status: number, code: number, title: string, hostname: string): void {
  const html = `<!DOCTYPE html>\n<html><head><title>${title} | ${hostname} | Cloudflare</title></head>\n<body><h1><span>Error</span> <span>${code}</span></h1><h2>${title}</h2></body></html>\n`;
  res.writeHead(status, { 'content-type': 'text/html; charset=UTF-8', 'content-length': Buffer.byteLength(html), server: 'cloudflare' });
  res.end(html);
}

/** A request's whole body (the Cloudflare API simulator reads its requests with it too). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
