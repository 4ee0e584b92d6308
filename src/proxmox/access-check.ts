import type { Reporter } from '../core/reporter.js';
import type { ProxmoxSettings } from '../inventory/types.js';
import { PveApiClient } from './api-client.js';

/** What the token may do on this Proxmox, for `proxflare doctor`. */
export interface ProxmoxAccess {
  /** `GET /version` release, e.g. "9.1". */
  release: string;
  /** Effective privileges by ACL path (`GET /access/permissions`, without userid: the caller's own). */
  privileges: Record<string, string[]>;
  nodes: { name: string; online: boolean }[];
}

/**
 * Three cheap reads that need no privilege (README-pve §5.1: /version, /access/permissions and
 * /nodes are `user: all`): the connection (TLS pinned by fingerprint, the token accepted), the
 * release (PVE 8 and 9 name the guest-agent privilege differently) and the token's privileges.
 * Errors are the adapter's usual ProviderErrors (fingerprint mismatch, 401, unreachable).
 */
export async function readProxmoxAccess(settings: ProxmoxSettings, reporter: Reporter): Promise<ProxmoxAccess> {
  const client = new PveApiClient(settings, { reporter, timeoutMs: 10_000, readAttempts: 1, retryDelayMs: 0 });
  try {
    const version = (await client.call('read the Proxmox version', 'GET', (api) => api.version.$get())) as {
      release?: string;
      version?: string;
    };
    const perms = (await client.call('read the token privileges', 'GET', (api) => api.access.permissions.$get())) as Record<
      string,
      Record<string, number>
    >;
    const nodes = (await client.call('list nodes', 'GET', (api) => api.nodes.$get())) as { node: string; status: string }[];
    return {
      release: String(version.release ?? version.version ?? 'unknown'),
      privileges: Object.fromEntries(Object.entries(perms ?? {}).map(([path, privs]) => [path, Object.keys(privs ?? {})])),
      nodes: (nodes ?? []).map((n) => ({ name: n.node, online: n.status === 'online' })),
    };
  } finally {
    await client.close();
  }
}
