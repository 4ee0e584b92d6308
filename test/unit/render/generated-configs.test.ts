import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { matchIngressRule, parseIngressConfig } from '../../../src/ingress/validate-ingress.js';
import { orderIngressRules } from '../../../src/render/ingress-rules.js';
import type { IngressRule } from '../../../src/render/ingress-rules.js';
import { createRenderer } from '../../../src/render/templates.js';

/**
 * Random rule sets, rendered and then routed with the cloudflared matcher: each rule
 * must receive the requests meant for it, unless orderIngressRules reported it shadowed
 * (these paths are all decidable, so nothing may be reported undecided).
 * That checks the ordering against cloudflared's first-match semantics, not against itself.
 */
const HOSTS = ['a.example.com', 'b.example.com', 'apps.example.com', '*.example.com', '*.apps.example.com', '*'];
/** Each path with a request path it matches, chosen so it matches no other (non-match-all) pattern here. */
const PATHS: Record<string, string> = {
  '^/api/v1': '/api/v1/x',
  '^/api': '/api/z',
  '\\.(png|jpg)$': '/i.png',
  '/search\\?q=a&b<c>"d': '/search%3Fq=a&b<c>"d',
  '.*': '/anything',
};
const SERVICES = [
  'http://10.0.0.1:80',
  'https://[fd00::5]:8443',
  'unix:/run/a.sock',
  'http_status:418',
  'ssh://10.0.0.2:22',
  'tcp://10.0.0.3:5432',
];
const ORIGINS: (Record<string, unknown> | undefined)[] = [
  undefined,
  { noTLSVerify: true },
  { connectTimeout: '10s', httpHostHeader: 'x.lan' },
  { access: { required: true, teamName: 't', audTag: ['a'] } },
];

function random(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

function ruleSet(pick: (n: number) => number): IngressRule[] {
  const count = 1 + pick(8);
  const paths = Object.keys(PATHS);
  return Array.from({ length: count }, () => {
    const hostname = HOSTS[pick(HOSTS.length)]!;
    const withPath = hostname === '*' || pick(2) === 0;
    const originRequest = ORIGINS[pick(ORIGINS.length)];
    return {
      hostname,
      ...(withPath ? { path: paths[pick(paths.length)]! } : {}),
      service: SERVICES[pick(SERVICES.length)]!,
      ...(originRequest ? { originRequest } : {}),
    };
  });
}

function requestFor(rule: IngressRule): string {
  const host = rule.hostname === '*' ? 'unlisted.example.net' : rule.hostname.replace(/^\*\./, 'w0.');
  return `https://${host}${rule.path !== undefined ? PATHS[rule.path] : '/no-pattern-matches-this'}`;
}

describe('generated rule sets', () => {
  const renderer = createRenderer();

  it('render valid configs that route every reachable rule its own requests', () => {
    const pick = random(20261123);
    for (let n = 0; n < 150; n++) {
      const rules = ruleSet(pick);
      const text = renderer.renderConfig({ tunnelId: 't', credentialsFile: '/etc/cloudflared/t.json', rules });
      const parsed = parseIngressConfig(text);
      if (!parsed.ok) throw new Error(`${parsed.output}\n${text}`);
      expect(parsed.warnings).toEqual([]);

      const { rules: ordered, shadowed, undecided } = orderIngressRules(rules);
      expect(undecided).toEqual([]);
      const doc = parse(text) as { ingress: IngressRule[] };
      expect(doc.ingress.slice(0, -1)).toEqual(ordered);

      const describe = (r: IngressRule) => `${r.hostname}${r.path !== undefined ? ` path ${r.path}` : ''} → ${r.service}`;
      ordered.forEach((rule, i) => {
        const match = matchIngressRule(parsed.ingress, requestFor(rule));
        if (!match.ok) throw new Error(match.output);
        const context = `${text}\n${requestFor(rule)}\n${shadowed.join('\n')}`;
        const isShadowed = shadowed.some((s) => s.startsWith(`ingress rule "${describe(rule)}" can never match`));
        // A rule only loses its requests to an earlier rule when we said it would.
        if (match.index !== i) {
          expect(isShadowed, context).toBe(true);
          expect(match.index, context).toBeLessThan(i);
        }
        // And when we say so, it really loses them (unambiguous when the description is unique).
        const unique = ordered.filter((r) => describe(r) === describe(rule)).length === 1;
        if (isShadowed && unique) expect(match.index, context).toBeLessThan(i);
      });

      // Hostnames may come in any order; one hostname's rules keep theirs (they are the routing).
      const byHost = new Map<string, IngressRule[]>();
      for (const r of rules) byHost.set(r.hostname, [...(byHost.get(r.hostname) ?? []), r]);
      const shuffled = [...byHost.values()].sort(() => (pick(2) === 0 ? -1 : 1)).flat();
      expect(renderer.renderConfig({ tunnelId: 't', credentialsFile: '/etc/cloudflared/t.json', rules: shuffled })).toBe(text);
    }
  });
});
