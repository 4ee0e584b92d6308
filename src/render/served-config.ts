import { parseIngressConfig } from '../ingress/validate-ingress.js';
import type { RunningConfig, ServedRule } from '../ports/connector.js';

/**
 * Whether a running cloudflared routes by the config.yml proxflare rendered: its metrics
 * server's `/config` (see RunningConfig) lists the ingress rules it loaded. The rendered file
 * is put through the same parse cloudflared does (src/ingress), so both sides are rules in
 * cloudflared's own form: hostname, path regexp source (or null), service string. Pure.
 */
export function renderedIngress(configYaml: string): ServedRule[] | undefined {
  const parsed = parseIngressConfig(configYaml);
  if (!parsed.ok) return undefined;
  return parsed.ingress.rules.map((r) => ({ hostname: r.hostname, path: r.path?.source || null, service: r.service }));
}

export type ServedState = { current: true } | { current: false; why: string };

export function servesRendered(running: RunningConfig | undefined, rendered: ServedRule[]): ServedState {
  if (!running) return { current: false, why: '/config did not answer' };
  const key = (r: ServedRule) => `${r.hostname}\u0000${r.path ?? ''}\u0000${r.service.replace(/\/$/, '')}`;
  const want = rendered.map(key);
  const have = running.ingress.map(key);
  if (want.length === have.length && want.every((k, i) => k === have[i])) return { current: true };
  const missing = rendered.filter((r) => !have.includes(key(r)));
  const extra = running.ingress.filter((r) => !want.includes(key(r)));
  const show = (r: ServedRule) => `${r.hostname || '*'}${r.path ? ` ${r.path}` : ''} → ${r.service}`;
  const parts = [
    ...(missing.length > 0 ? [`missing ${missing.map(show).join(', ')}`] : []),
    ...(extra.length > 0 ? [`still serves ${extra.map(show).join(', ')}`] : []),
  ];
  return { current: false, why: parts.length > 0 ? parts.join('; ') : 'the same rules in another order' };
}
