import type { ConnectorState } from '../ports/connector.js';
import { hostAddress } from './addresses.js';
import type { StagingFileChange } from './types.js';

/**
 * Stale staging files on a connector (read by its state script, see core/staging-names.ts): one
 * delete each. Pure. A host not read yet has none we know of; the next sync sees them.
 */
export function planStaging(connector: string, host: ConnectorState | undefined): StagingFileChange[] {
  return (host?.staging ?? []).map((path) => ({
    kind: 'staging-file' as const,
    address: hostAddress('staging', connector, path),
    connector,
    path,
    action: 'delete' as const,
    reason: 'left by an interrupted deploy (may hold the tunnel secret)',
    before: { path },
    after: undefined,
  }));
}
