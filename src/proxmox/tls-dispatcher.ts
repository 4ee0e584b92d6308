import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { Agent, type buildConnector } from 'undici';

export const normalizeFingerprint = (f: string): string => f.replace(/:/g, '').toUpperCase();

/** Raised by the pinned connector; the adapter turns it into an error with the fix. */
export class FingerprintMismatchError extends Error {
  readonly code = 'PROXFLARE_FINGERPRINT_MISMATCH';
  constructor(
    readonly presented: string,
    readonly pinned: string,
  ) {
    super(`TLS fingerprint mismatch: the server presented ${presented}`);
  }
}

export interface DispatcherOptions {
  /** SHA-256 pin "AB:CD:.." (colons optional, any case). */
  fingerprint?: string;
  /** Accept any certificate (escape hatch). */
  insecure?: boolean;
  connectTimeoutMs: number;
}

/**
 * A dispatcher scoped to this client only; TLS verification is never disabled process-wide
 * (no NODE_TLS_REJECT_UNAUTHORIZED). A PVE node sends only its leaf certificate signed by a
 * cluster CA nobody trusts, so the chain is not verified; instead the leaf's SHA-256 must
 * equal the pin. `checkServerIdentity` cannot do this: Node skips it once the chain fails
 * (README-pve §1.7), hence the custom `connect`.
 */
export function createDispatcher(options: DispatcherOptions): Agent {
  // Idle sockets are dropped well before a server would close them, so a POST (never retried)
  // is not written onto a connection the other side already hung up.
  const keepAliveTimeout = 2000;
  if (!options.fingerprint) {
    return new Agent({
      keepAliveTimeout,
      connect: { rejectUnauthorized: !options.insecure, timeout: options.connectTimeoutMs },
    });
  }
  const pin = normalizeFingerprint(options.fingerprint);
  const connect: buildConnector.connector = (opts, callback) => {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    const host = opts.hostname.replace(/^\[(.*)\]$/, '$1');
    let settled = false;
    const done = (err: Error | null, socket: ReturnType<typeof tlsConnect> | ReturnType<typeof netConnect> | null) => {
      if (settled) return;
      settled = true;
      if (err) callback(err, null);
      else callback(null, socket!);
    };
    if (opts.protocol !== 'https:') {
      const s = netConnect({ host, port });
      s.setTimeout(options.connectTimeoutMs, () => s.destroy(new Error(`connect timeout after ${options.connectTimeoutMs} ms`)));
      s.once('connect', () => {
        s.setTimeout(0);
        done(null, s);
      });
      s.once('error', (e) => done(e, null));
      return;
    }
    const servername = opts.servername || (isIP(host) ? undefined : host);
    const s = tlsConnect({ host, port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    s.setTimeout(options.connectTimeoutMs, () => s.destroy(new Error(`connect timeout after ${options.connectTimeoutMs} ms`)));
    s.once('secureConnect', () => {
      s.setTimeout(0);
      const presented = s.getPeerCertificate().fingerprint256 ?? '';
      if (normalizeFingerprint(presented) !== pin) {
        const err = new FingerprintMismatchError(presented, options.fingerprint!);
        s.destroy();
        done(err, null);
        return;
      }
      done(null, s);
    });
    s.once('error', (e) => done(e, null));
  };
  return new Agent({ connect, keepAliveTimeout });
}
