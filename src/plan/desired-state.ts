import type { Inventory, ServiceSpec } from '../inventory/types.js';
import type { IngressRule } from '../render/ingress-rules.js';
import { orderIngressRules, serviceUrl } from '../render/ingress-rules.js';
import type { Renderer } from '../render/templates.js';
import type { OriginView } from './types.js';
import { TUNNEL_ID_PLACEHOLDER } from './types.js';
import { checkOrigin } from './check-origin.js';
import { withAccessCheck } from './connector-access.js';
import { connectorAccessChecks } from './plan-access.js';
import type { ActualState } from './actual-state.js';
import { MANAGED_PATHS } from './actual-state.js';

/** What the connector should look like, computed from the inventory and the facts read. Pure. */
export interface DesiredState {
  tunnelId: string;
  configYml: string;
  unitFile: string;
  hostnames: string[];
  origins: OriginView[];
  warnings: string[];
  /** Problems that make the plan unsafe (unresolvable or refused origins); each names the field. */
  errors: string[];
}

const NETWORK_SCHEMES = new Set(['http', 'https', 'tcp', 'ssh', 'rdp']);

export function computeDesired(inventory: Inventory, actual: ActualState, renderer: Renderer): DesiredState {
  const errors: string[] = [];
  const warnings: string[] = [];
  const rules: IngressRule[] = [];
  const origins: OriginView[] = [];
  const ruleGuest = new Map<string, { guest: string; source: OriginView['ipSource'] }>();
  const accessChecks = connectorAccessChecks(inventory, actual.access);

  for (const guest of inventory.guests) {
    const needsIp = guest.services.some((s) => NETWORK_SCHEMES.has(s.scheme));
    let ip: string | undefined;
    let source: OriginView['ipSource'];
    if (needsIp) {
      const resolved = actual.proxmox.guestIps.get(guest.name);
      if (!resolved) {
        errors.push(`${inventory.positions.locate(guest.field)} guest "${guest.name}": no address was read for it`);
        continue;
      }
      if (!resolved.ok) {
        errors.push(`${inventory.positions.locate(guest.field)} ${resolved.error}`);
        continue;
      }
      const refused = checkOrigin(resolved.ip, {
        nodeAddresses: actual.proxmox.nodeAddresses,
        allowLoopback: inventory.settings.allowLoopbackOrigins,
      });
      if (refused) {
        errors.push(`${inventory.positions.locate(guest.field)} guest "${guest.name}" (${resolved.ip}, from ${resolved.source}): ${refused}`);
        continue;
      }
      ip = resolved.ip;
      source = resolved.source;
    }
    for (const service of guest.services) {
      const rule = withAccessCheck(toRule(service, ip), service, accessChecks);
      rules.push(rule);
      ruleGuest.set(ruleKey(rule), { guest: guest.name, source: NETWORK_SCHEMES.has(service.scheme) ? source : undefined });
    }
  }

  const ordered = orderIngressRules(rules);
  warnings.push(...ordered.shadowed);
  for (const rule of ordered.rules) {
    const from = ruleGuest.get(ruleKey(rule));
    origins.push({
      hostname: rule.hostname,
      ...(rule.path ? { path: rule.path } : {}),
      service: rule.service,
      ...(from ? { guest: from.guest } : {}),
      ...(from?.source ? { ipSource: from.source } : {}),
    });
  }

  const tunnelId = actual.tunnel?.id ?? TUNNEL_ID_PLACEHOLDER;
  const configYml =
    errors.length > 0
      ? ''
      : renderer.renderConfig({ tunnelId, credentialsFile: MANAGED_PATHS.credentials, rules: ordered.rules });
  const unitFile = renderer.renderUnit({ binary: MANAGED_PATHS.binary, configPath: MANAGED_PATHS.config });
  const hostnames = [...new Set(rules.map((r) => r.hostname))].sort();
  return { tunnelId, configYml, unitFile, hostnames, origins, warnings, errors };
}

function toRule(service: ServiceSpec, ip: string | undefined): IngressRule {
  return {
    hostname: service.hostname,
    ...(service.path ? { path: service.path } : {}),
    service: serviceUrl(service, ip),
    ...(service.originRequest && Object.keys(service.originRequest).length > 0
      ? { originRequest: service.originRequest }
      : {}),
  };
}

function ruleKey(rule: IngressRule): string {
  return `${rule.hostname}\u0000${rule.path ?? ''}`;
}
