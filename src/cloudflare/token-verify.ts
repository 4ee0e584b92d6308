import { APIError } from 'cloudflare/core/error';
import type { Reporter } from '../core/reporter.js';
import type { CloudflareSettings } from '../inventory/types.js';
import { createSdkClient } from './sdk-client.js';

export type TokenVerification =
  { ok: true; id: string; status: string; owner: 'user' | 'account' } | { ok: false; status?: string; detail: string };

/**
 * Cloudflare's "Test whether a token works": `GET /user/tokens/verify` for a user token, else
 * `GET /accounts/{id}/tokens/verify` for an account-owned one (each answers 401 code 1000
 * "Invalid API Token" for the other kind). Only says the token is known and active: its
 * permissions are probed by the reads `doctor` makes. The token itself never leaves this call.
 */
export async function verifyCloudflareToken(settings: CloudflareSettings, reporter: Reporter): Promise<TokenVerification> {
  const client = await createSdkClient(settings, {
    reporter,
    maxRetries: 1,
    timeoutMs: 15_000,
    stats: { requests: 0, rateLimitWaitSeconds: 0 },
  });
  const attempts: [owner: 'user' | 'account', call: () => Promise<{ id: string; status: string }>][] = [
    ['user', () => client.user.tokens.verify()],
    ['account', () => client.accounts.tokens.verify({ account_id: settings.accountId })],
  ];
  const failures: string[] = [];
  for (const [owner, call] of attempts) {
    try {
      const result = await call();
      if (result.status === 'active') return { ok: true, id: result.id, status: result.status, owner };
      return { ok: false, status: result.status, detail: `the token is ${result.status}` };
    } catch (err) {
      failures.push(`${owner === 'user' ? '/user/tokens/verify' : `/accounts/${settings.accountId}/tokens/verify`}: ${describe(err)}`);
    }
  }
  return { ok: false, detail: failures.join('; ') };
}

function describe(err: unknown): string {
  if (err instanceof APIError) {
    const errors = (err.errors ?? []) as { code?: number; message?: string }[];
    const first = errors[0];
    return first ? `HTTP ${err.status ?? '?'} ${first.code ?? ''} ${first.message ?? ''}`.trim() : `HTTP ${err.status ?? '?'}`;
  }
  return (err as Error).message;
}
