import { randomBytes } from 'node:crypto';
import { ProviderError } from '../core/errors.js';
import { Secret } from '../core/secret.js';
import type { TunnelCredentials } from '../ports/cloudflare.js';

/** cloudflared generates 32 random bytes for `tunnel create`; the API wants at least 32, base64. */
export function generateTunnelSecret(): Secret {
  return new Secret(randomBytes(32).toString('base64'));
}

function decodesToAtLeast32Bytes(b64: string): boolean {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(b64) && b64.length % 4 === 0 && Buffer.from(b64, 'base64').length >= 32;
}

/**
 * The tunnel token is base64(JSON{a: account tag, s: base64 secret, t: tunnel id[, e]}),
 * cloudflared's TunnelToken. The credentials file takes `s` as-is (already base64).
 * Nothing from the token ever goes into an error message.
 */
export function credentialsFromToken(token: Secret, expectedTunnelId: string, tunnelName: string): TunnelCredentials {
  const broken = (why: string): ProviderError =>
    new ProviderError(
      'cloudflare',
      `recover credentials of tunnel ${tunnelName}`,
      `the tunnel token returned by the API ${why}`,
      'check that tunnel in the Cloudflare dashboard; if it cannot be repaired, delete it and let proxflare create a new one',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token.reveal().trim(), 'base64').toString('utf8'));
  } catch {
    throw broken('is not base64-encoded JSON');
  }
  if (parsed === null || typeof parsed !== 'object') throw broken('is not a JSON object');
  const { a, s, t } = parsed as Record<string, unknown>;
  if (typeof a !== 'string' || a === '') throw broken('has no account tag');
  if (typeof t !== 'string' || t.toLowerCase() !== expectedTunnelId.toLowerCase())
    throw broken(`belongs to another tunnel than ${expectedTunnelId}`);
  if (typeof s !== 'string' || !decodesToAtLeast32Bytes(s)) throw broken('carries no valid 32-byte secret');
  return { accountTag: a, tunnelId: t, tunnelSecret: new Secret(s) };
}

/**
 * The credentials file cloudflared reads for a locally-managed tunnel
 * (`{"AccountTag","TunnelSecret","TunnelID","Endpoint"}`, as current cloudflared writes it).
 */
export function renderCredentialsFile(credentials: TunnelCredentials): Secret {
  return new Secret(
    `${JSON.stringify({
      AccountTag: credentials.accountTag,
      TunnelSecret: credentials.tunnelSecret.reveal(),
      TunnelID: credentials.tunnelId,
      Endpoint: '',
    })}\n`,
  );
}
