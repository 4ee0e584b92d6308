import { ProviderError } from '../core/errors.js';
import type { Change } from '../plan/types.js';

/**
 * The change an apply failure is reported against: the one the remote system named (a config
 * file cloudflared rejected during the unit's deploy) when it is still pending, else the first
 * change of the step that did not land.
 */
export function failedChange(err: unknown, step: readonly Change[], pending: readonly Change[]): Change {
  const subject = err instanceof ProviderError ? err.subject : undefined;
  if (subject !== undefined) {
    const named = pending.find((c) => 'path' in c && c.path === subject && c.action !== 'delete');
    if (named) return named;
  }
  return step[0] ?? pending[0]!;
}
