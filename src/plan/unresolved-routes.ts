import { parse as parseYaml } from 'yaml';
import type { IngressRule } from '../render/ingress-rules.js';

/**
 * A guest whose address could not be read (agent timed out, VM stopped, ...) makes only its own
 * routes unresolvable; the rest of the plan goes ahead. Its routes are never deleted for that:
 * the ingress rules the connector serves now for its hostnames are kept as they are, and its DNS
 * records are left alone, until a later sync can read the guest.
 */
export interface UnresolvedGuest {
  guest: string;
  /** Why, naming the inventory line and the fix. */
  error: string;
  /** The guest's hostnames. */
  hostnames: string[];
  /** Those of them whose current rule on the connector is kept unchanged. */
  kept: string[];
}

/** The rules of the connector's current config.yml for these hostnames, as they are. */
export function currentRulesFor(configYml: string | undefined, hostnames: Set<string>): IngressRule[] {
  if (!configYml) return [];
  let doc: unknown;
  try {
    doc = parseYaml(configYml);
  } catch {
    return [];
  }
  const ingress = (doc as { ingress?: unknown } | null)?.ingress;
  if (!Array.isArray(ingress)) return [];
  const out: IngressRule[] = [];
  for (const r of ingress as Record<string, unknown>[]) {
    if (typeof r?.hostname !== 'string' || typeof r.service !== 'string' || !hostnames.has(r.hostname)) continue;
    out.push({
      hostname: r.hostname,
      ...(typeof r.path === 'string' ? { path: r.path } : {}),
      service: r.service,
      ...(r.originRequest && typeof r.originRequest === 'object' ? { originRequest: r.originRequest as Record<string, unknown> } : {}),
    });
  }
  return out;
}
