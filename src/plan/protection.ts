import type { Inventory, ServiceSpec } from '../inventory/types.js';

/**
 * Whether a route's requests must carry a valid Cloudflare Access token before they reach
 * the origin: the one question the exposure warnings and `proxflare graph` ask.
 *
 * Two ways: the route's `access:` (an Access application planned by proxflare, with the
 * connector's JWT check rendered for it: plan-access.ts, connector-access.ts), or cloudflared's
 * own check written by hand as `originRequest.access.required` (cloudflared reads it from the
 * rule's own originRequest only: ingress/ingress.go validateIngress).
 */
export function isProtected(service: ServiceSpec, inventory: Inventory): boolean {
  if (service.access && inventory.access) return true;
  const access = service.originRequest?.access as { required?: unknown } | undefined;
  return access?.required === true;
}
