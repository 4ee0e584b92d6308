import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * `status --public`: each hostname requested from where proxflare runs, as a visitor would —
 * `https://<hostname>/` through Cloudflare — the way the deployments this project grew from
 * verify a route ("HTTP 200 through the subdomain"). A route behind Access must answer with
 * Access's login redirect (302 to `https://<team>.cloudflareaccess.com/cdn-cgi/access/login/<host>`,
 * access-ha-health.md §1.7); a 200 there would be an exposure failure.
 *
 * PROXFLARE_PUBLIC_EDGE (set by the simulated homelab, never needed in real life) sends every
 * request to that address instead, Host header kept: the simulated edge stands in for Cloudflare,
 * so tests and the demo never leave loopback. An https:// edge gets the same TLS request as the
 * real one (the hostname as SNI, its certificate verified), trusting the CA in the PEM file
 * PROXFLARE_PUBLIC_EDGE_CA names.
 */
export const PUBLIC_EDGE_ENV = 'PROXFLARE_PUBLIC_EDGE';
export const PUBLIC_EDGE_CA_ENV = 'PROXFLARE_PUBLIC_EDGE_CA';

export interface PublicCheckTarget {
  hostname: string;
  /** Behind a Cloudflare Access application: expect the login redirect. */
  protected: boolean;
}

export interface PublicCheck {
  hostname: string;
  url: string;
  /** HTTP status; undefined when nothing answered (DNS, connection). */
  status: number | undefined;
  expected: string;
  ok: boolean;
  detail: string;
}

const TIMEOUT_MS = 10_000;

/**
 * Each hostname once, as a visitor reaches it (wildcards and path-only rules have no URL of their
 * own); protected when Access covers it now (`PROTECTED (…)`, not a pending change). Pure.
 */
export function publicTargets(routes: { hostname: string; exposure: string }[]): PublicCheckTarget[] {
  const targets = new Map<string, boolean>();
  for (const r of routes) {
    if (r.hostname === '' || r.hostname.includes('*')) continue;
    const isProtected = r.exposure.startsWith('PROTECTED') && !r.exposure.endsWith('(pending)');
    targets.set(r.hostname, (targets.get(r.hostname) ?? false) || isProtected);
  }
  return [...targets].map(([hostname, p]) => ({ hostname, protected: p }));
}

export async function checkPublicRoutes(targets: PublicCheckTarget[], env: NodeJS.ProcessEnv): Promise<PublicCheck[]> {
  const edge = env[PUBLIC_EDGE_ENV] ? new URL(env[PUBLIC_EDGE_ENV]) : undefined;
  const ca = env[PUBLIC_EDGE_CA_ENV] ? await readFile(env[PUBLIC_EDGE_CA_ENV]) : undefined;
  return Promise.all(targets.map((t) => checkOne(t, edge, ca)));
}

async function checkOne(target: PublicCheckTarget, edge: URL | undefined, ca: Buffer | undefined): Promise<PublicCheck> {
  const url = `https://${target.hostname}/`;
  const expected = target.protected ? 'Access login redirect' : 'an answer from the origin (2xx/3xx)';
  const got = await fetchOnce(target.hostname, edge, ca);
  if ('error' in got) return { hostname: target.hostname, url, status: undefined, expected, ok: false, detail: `no answer: ${got.error}` };
  const { status, location, body } = got;
  const cfError = /<span>Error<\/span>\s*<span>(\d{4})<\/span>|error code: (\d{4})/.exec(body);
  const code = cfError?.[1] ?? cfError?.[2];
  if (target.protected) {
    const login = loginRedirect(location, target.hostname);
    return {
      hostname: target.hostname,
      url,
      status,
      expected,
      ok: status === 302 && login,
      detail: login ? `redirect to ${new URL(location!).host} (Access login)` : describe(status, code, location),
    };
  }
  const ok = status >= 200 && status < 400 && !code && !loginRedirect(location, target.hostname);
  return { hostname: target.hostname, url, status, expected, ok, detail: describe(status, code, location) };
}

/** Exactly `<team>.cloudflareaccess.com` (a look-alike suffix such as `…cloudflareaccess.com.evil` is not). */
export function loginRedirect(location: string | undefined, hostname: string): boolean {
  if (!location) return false;
  try {
    const u = new URL(location);
    return (
      u.protocol === 'https:' && /^[a-z0-9-]+\.cloudflareaccess\.com$/i.test(u.host) && u.pathname === `/cdn-cgi/access/login/${hostname}`
    );
  } catch {
    return false;
  }
}

function describe(status: number, code: string | undefined, location: string | undefined): string {
  const meaning: Record<string, string> = {
    '1016': 'Cloudflare error 1016 (origin DNS error: no proxied CNAME to the tunnel)',
    '1033': 'Cloudflare error 1033 (no healthy cloudflared connector)',
  };
  if (code) return meaning[code] ?? `Cloudflare error ${code}`;
  if (status >= 300 && status < 400 && location) return `HTTP ${status} to ${location}`;
  return `HTTP ${status}`;
}

function fetchOnce(
  hostname: string,
  edge: URL | undefined,
  ca: Buffer | undefined,
): Promise<{ status: number; location: string | undefined; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const headers = { host: hostname, 'user-agent': 'proxflare-status' };
    const tls = !edge || edge.protocol === 'https:';
    const request = {
      host: edge?.hostname ?? hostname,
      port: edge?.port || (tls ? 443 : 80),
      path: '/',
      method: 'GET',
      headers,
      timeout: TIMEOUT_MS,
    };
    const req = tls ? httpsRequest({ ...request, servername: hostname, ...(ca ? { ca } : {}) }) : httpRequest(request);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 64 * 1024) body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => resolve({ error: requestError(err as NodeJS.ErrnoException, hostname) }));
    req.end();
  });
}

/** Node's error in the visitor's terms; TLS failures say what a browser would have shown. */
function requestError(err: NodeJS.ErrnoException, hostname: string): string {
  if (err.code === 'ECONNRESET') return 'the connection was closed without an answer (not served by Cloudflare)';
  // The edge ends the handshake when it has no certificate for the name (browsers: ERR_SSL_VERSION_OR_CIPHER_MISMATCH).
  if (err.code === 'EPROTO' && /handshake failure/i.test(err.message))
    return `the TLS handshake failed: the edge has no certificate for ${hostname}. Cloudflare's free Universal SSL certificate covers a zone and one level below it only (a.example.com, not a.b.example.com): use such a name, or an advanced certificate`;
  if (err.code?.startsWith('ERR_TLS_') || /certificate/i.test(err.message))
    return `the certificate the edge served for ${hostname} is not valid (${err.message})`;
  return err.message;
}
