import type { TunnelState } from '../ports/cloudflare.js';
import { tunnelAddress } from './addresses.js';
import { TUNNEL_ID_PLACEHOLDER, type TunnelChange, type Upsert } from './types.js';

/**
 * The named tunnel: created when no non-deleted tunnel has the name, otherwise left alone.
 * A tunnel is never renamed or replaced by a plan; its id flows into DNS and config files.
 */
export function planTunnel(name: string, accountId: string, found: TunnelState | undefined): Upsert<TunnelChange> {
  const address = tunnelAddress(name);
  if (found === undefined) {
    return {
      kind: 'tunnel',
      address,
      action: 'create',
      reason: 'no tunnel with this name in the account',
      before: undefined,
      after: { id: TUNNEL_ID_PLACEHOLDER, name },
      accountId,
    };
  }
  return {
    kind: 'tunnel',
    address,
    action: 'noop',
    reason: `exists (${found.status})`,
    before: { id: found.id, name: found.name },
    after: { id: found.id, name: found.name },
    accountId,
  };
}
