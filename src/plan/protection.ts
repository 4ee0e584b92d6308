import type { Inventory, ServiceSpec } from '../inventory/types.js';

/**
 * Whether a route's requests must carry a valid Cloudflare Access token before they reach
 * the origin: the one question the exposure warnings and `proxflare graph` ask.
 *
 * Today the only protection the inventory can express is cloudflared's own check,
 * `originRequest.access.required` on the route (cloudflared reads it from the rule's own
 * originRequest only: ingress/ingress.go validateIngress). Inventory-level Access
 * (applications and policies planned by proxflare) answers here too once it exists.
 */
export function isProtected(service: ServiceSpec, _inventory: Inventory): boolean {
  const access = service.originRequest?.access as { required?: unknown } | undefined;
  return access?.required === true;
}
