import type { TunnelSettings } from '../inventory/types.js';

/**
 * The top-level config.yml keys for the inventory's tunnel settings, under the names cloudflared
 * reads them by (cmd/cloudflared/flags/flags.go: protocol, edge-ip-version, loglevel,
 * grace-period, retries; config/configuration.go: originRequest). Unset settings are left out,
 * so cloudflared's own defaults apply and an inventory without them renders the same bytes as before.
 */
export function tunnelConfigSettings(tunnel: TunnelSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (tunnel.protocol !== undefined) out.protocol = tunnel.protocol;
  // A string flag: written quoted, so YAML cannot hand cloudflared the number 4.
  if (tunnel.edgeIpVersion !== undefined) out['edge-ip-version'] = tunnel.edgeIpVersion;
  if (tunnel.logLevel !== undefined) out.loglevel = tunnel.logLevel;
  if (tunnel.gracePeriod !== undefined) out['grace-period'] = tunnel.gracePeriod;
  if (tunnel.retries !== undefined) out.retries = tunnel.retries;
  if (tunnel.originRequest !== undefined && Object.keys(tunnel.originRequest).length > 0) out.originRequest = tunnel.originRequest;
  return out;
}

/**
 * The originRequest cloudflared uses for one rule: the rule's own keys over the tunnel-wide
 * defaults, key by key (ingress/config.go setConfig: each setter takes the override when it is
 * set; `ipRules` only when the list is non-empty; `access` is replaced whole, never merged).
 */
export function effectiveOriginRequest(
  defaults: Record<string, unknown> | undefined,
  own: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(defaults ?? {}) };
  for (const [key, value] of Object.entries(own ?? {})) {
    if (value === undefined) continue;
    if (key === 'ipRules' && Array.isArray(value) && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}
