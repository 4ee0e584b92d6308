import type { ServiceSpec } from '../inventory/types.js';
import type { IngressRule } from '../render/ingress-rules.js';
import type { ConnectorAccessCheck } from './plan-access.js';

/**
 * Defence in depth for a protected hostname: the connector itself rejects requests without
 * a valid Access JWT for the app's aud (cloudflared `originRequest.access`, checked by
 * ingress/middleware/jwtvalidator.go: 403 "no access token in request" without the
 * `Cf-Access-Jwt-Assertion` header). So an app deleted in the dashboard fails closed at the
 * connector instead of open at the edge.
 */
export function withAccessCheck(rule: IngressRule, service: ServiceSpec, checks: Map<string, ConnectorAccessCheck>): IngressRule {
  if (!service.access) return rule;
  const check = checks.get(service.hostname);
  // Without a check (Access not readable) the rule still requires a token: no aud can match, nothing gets through.
  const access = check ? { required: true, teamName: check.teamName, audTag: [check.aud] } : { required: true };
  return { ...rule, originRequest: { ...(rule.originRequest ?? {}), access } };
}
