import { ProviderError } from '../core/errors.js';
import { FingerprintMismatchError } from './tls-dispatcher.js';

/** What the fetch wrapper saw; the package itself only gives us a message string. */
export interface WireOutcome {
  method: string;
  /** Path after /api2/json. */
  path: string;
  status?: number;
  statusText?: string;
  contentType?: string | null;
  body?: string;
  transportError?: unknown;
}

export interface MapContext {
  operation: string;
  tokenId: string;
  /** What to name when PVE answers a bare "Permission check failed" (LXC create). */
  privilegeHint?: string;
  endpoint: string;
}

export const PVE_CONTENT_TYPE = 'application/json;charset=UTF-8';

const GUIDE = 'see docs/proxmox.md for the role and pveum commands';

function rootCause(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < 5; i++) {
    const next = (cur as { cause?: unknown } | undefined)?.cause;
    if (!next) break;
    cur = next;
  }
  return cur;
}

function parseBody(body: string | undefined): { message?: string; errors?: Record<string, string> } {
  if (!body) return {};
  try {
    const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
    return {
      message: typeof parsed.message === 'string' ? parsed.message.trim() : undefined,
      errors: parsed.errors && typeof parsed.errors === 'object' ? (parsed.errors as Record<string, string>) : undefined,
    };
  } catch {
    return {};
  }
}

/** PVE 8 calls the agent privilege VM.Monitor, PVE 9 VM.GuestAgent.Audit (README-pve §5.1). */
function versionNote(privs: string): string {
  if (/VM\.GuestAgent|VM\.Monitor/.test(privs))
    return ' (PVE 9 names it VM.GuestAgent.Audit; PVE 8 uses VM.Monitor instead: grant the one your version knows)';
  return '';
}

export function isTransient(o: WireOutcome): boolean {
  if (o.transportError !== undefined) {
    const root = rootCause(o.transportError);
    if (root instanceof FingerprintMismatchError) return false;
    const code = (root as { code?: string }).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return false;
    return true;
  }
  return o.status === 502 || o.status === 503 || o.status === 504 || o.status === 596;
}

export function mapError(o: WireOutcome, ctx: MapContext): ProviderError {
  const op = ctx.operation;
  const cause = o.transportError;
  const mutating = o.method !== 'GET';
  const maybeApplied = mutating
    ? ' The request may have reached Proxmox; it is not resent automatically. Re-run `proxflare sync --dry-run` to see the current state.'
    : '';

  if (cause !== undefined) {
    const root = rootCause(cause);
    if (root instanceof FingerprintMismatchError)
      return new ProviderError(
        'proxmox',
        op,
        `TLS certificate of ${ctx.endpoint} does not match the pinned fingerprint (server presented ${root.presented}, inventory pins ${root.pinned}); connection refused`,
        'if the node certificate was renewed on purpose, update proxmox.fingerprint with the output of `pvenode cert info` on the node (or `openssl s_client -connect <host>:8006 </dev/null | openssl x509 -noout -fingerprint -sha256`)',
        { cause },
      );
    const code = (root as { code?: string }).code ?? '';
    const msg = (root as Error).message ?? String(root);
    if (/UNABLE_TO_VERIFY|SELF_SIGNED|CERT_/.test(code))
      return new ProviderError(
        'proxmox',
        op,
        `TLS certificate of ${ctx.endpoint} is not trusted (${code})`,
        'Proxmox nodes use a self-signed certificate: pin it with proxmox.fingerprint (SHA-256 from `pvenode cert info`)',
        { cause },
      );
    if (code === 'ECONNREFUSED')
      return new ProviderError(
        'proxmox',
        op,
        `connection refused by ${ctx.endpoint}`,
        'check proxmox.url: the API listens on port 8006 (https://<host>:8006)',
        { cause },
      );
    return new ProviderError(
      'proxmox',
      op,
      `${o.method} ${o.path}: ${msg}${code ? ` (${code})` : ''}.${maybeApplied}`,
      'check that the Proxmox node is reachable from here and re-run',
      { cause },
    );
  }

  const status = o.status ?? 0;
  const reason = o.statusText ?? '';
  const body = parseBody(o.body);
  const message = body.message ?? reason;
  const opts = { status };

  if (status === 200 && o.contentType !== PVE_CONTENT_TYPE)
    return new ProviderError(
      'proxmox',
      op,
      `${ctx.endpoint} answered with Content-Type "${o.contentType ?? '(none)'}" instead of "${PVE_CONTENT_TYPE}"`,
      'is proxmox.url pointing at the Proxmox VE API (https://<host>:8006), not at a proxy or another service?',
      opts,
    );

  switch (status) {
    case 401:
      return new ProviderError(
        'proxmox',
        op,
        `authentication failed for token ${ctx.tokenId} (${reason || 'no reason given'})`,
        'check proxmox.tokenId (user@realm!tokenname) and proxmox.tokenSecret; the token may be deleted or expired (`pveum user token list <user>`)',
        opts,
      );
    case 403: {
      const m = /Permission check failed \((.+), ([^,()]+)\)\s*$/.exec(message);
      if (m) {
        const [, path, privs] = m as unknown as [string, string, string];
        const list = privs.split('|');
        const what = list.length > 1 ? `one of ${list.join(', ')}` : list[0]!;
        return new ProviderError(
          'proxmox',
          op,
          `token ${ctx.tokenId} lacks the privilege ${what} on ${path}${versionNote(privs)}`,
          `grant it, e.g. \`pveum acl modify ${path} --tokens '${ctx.tokenId}' --roles ProxflareLXC\` (with privilege separation also for the user); ${GUIDE}`,
          opts,
        );
      }
      const named = ctx.privilegeHint ? `; this call needs ${ctx.privilegeHint}` : '';
      return new ProviderError('proxmox', op, `permission denied for token ${ctx.tokenId}: ${message}${named}`, GUIDE, opts);
    }
    case 400: {
      const errors = body.errors ?? {};
      const names = Object.keys(errors);
      const detail = names.length
        ? `${message || 'Parameter verification failed.'} ${names.map((n) => `${n}: ${String(errors[n]).trim().replace(/\n/g, '; ')}`).join('; ')}`
        : message;
      return new ProviderError(
        'proxmox',
        op,
        `Proxmox rejected the parameters of ${o.method} ${o.path}: ${detail}`,
        names.length ? `fix ${names.join(', ')} in the inventory (or report a proxflare bug if it came from proxflare itself)` : undefined,
        opts,
      );
    }
    case 501:
      return new ProviderError(
        'proxmox',
        op,
        `${message} (this Proxmox VE version does not offer ${o.method} ${o.path})`,
        'proxflare needs Proxmox VE 8.1 or newer',
        opts,
      );
    default:
      break;
  }
  const offlineText =
    status === 500 && /no route to host|node '?[^ ']*'? seems to be offline|connection timed out|connection refused/i.test(message);
  if ((status >= 590 && status <= 599) || offlineText) {
    const node = /^\/nodes\/([^/]+)/.exec(o.path)?.[1];
    return new ProviderError(
      'proxmox',
      op,
      `${node ? `node ${node}` : 'a cluster node'} is offline or unreachable (${status} ${offlineText ? message : reason})`,
      'bring the node back online (check `pvecm status`) and re-run; proxflare does not plan from a partial read',
      opts,
    );
  }
  if (status === 500 && /hostname lookup '([^']+)' failed/.test(message)) {
    const node = /hostname lookup '([^']+)'/.exec(message)![1];
    return new ProviderError(
      'proxmox',
      op,
      `node ${node} does not exist in this cluster`,
      'check the node names in the inventory against `pvecm nodes` / the Proxmox UI',
      opts,
    );
  }
  return new ProviderError(
    'proxmox',
    op,
    `${o.method} ${o.path} failed with ${status}: ${message || reason}.${maybeApplied}`,
    undefined,
    opts,
  );
}
