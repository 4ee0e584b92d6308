import { describe, expect, it } from 'vitest';
import { InternalError } from '../../../src/core/errors.js';
import type { ServiceSpec } from '../../../src/inventory/types.js';
import { orderIngressRules, serviceUrl } from '../../../src/render/ingress-rules.js';
import type { IngressRule } from '../../../src/render/ingress-rules.js';

function spec(partial: Partial<ServiceSpec>): ServiceSpec {
  return { hostname: 'a.example.com', scheme: 'http', field: 'guests[0].services[0]', ...partial };
}

describe('serviceUrl', () => {
  it.each([
    [spec({ scheme: 'http', port: 8096 }), '192.168.1.50', 'http://192.168.1.50:8096'],
    [spec({ scheme: 'https', port: 443 }), '192.168.1.20', 'https://192.168.1.20:443'],
    [spec({ scheme: 'tcp', port: 5432 }), '10.0.0.5', 'tcp://10.0.0.5:5432'],
    [spec({ scheme: 'ssh', port: 22 }), '10.0.0.5', 'ssh://10.0.0.5:22'],
    [spec({ scheme: 'rdp', port: 3389 }), '10.0.0.5', 'rdp://10.0.0.5:3389'],
    [spec({ scheme: 'http', port: 8080 }), 'fd00::5', 'http://[fd00::5]:8080'],
    [spec({ scheme: 'http', port: 8080 }), 'fe80::1%eth0', 'http://[fe80::1%25eth0]:8080'],
    [spec({ scheme: 'http' }), '10.0.0.1', 'http://10.0.0.1'],
    [spec({ scheme: 'unix', socket: '/run/app.sock' }), undefined, 'unix:/run/app.sock'],
    [spec({ scheme: 'http_status', status: 418 }), undefined, 'http_status:418'],
  ])('%o at %s → %s', (service, ip, expected) => {
    expect(serviceUrl(service, ip)).toBe(expected);
  });

  it('refuses a network service without an IP, naming the service', () => {
    expect(() => serviceUrl(spec({ port: 80 }), undefined)).toThrow(InternalError);
    expect(() => serviceUrl(spec({ port: 80 }), undefined)).toThrow(/guests\[0\]\.services\[0\] \(a\.example\.com\)/);
  });

  it('refuses unix without socket and http_status without status', () => {
    expect(() => serviceUrl(spec({ scheme: 'unix' }), undefined)).toThrow(/socket/);
    expect(() => serviceUrl(spec({ scheme: 'http_status' }), undefined)).toThrow(/status code/);
  });
});

const r = (hostname: string, path?: string, service = 'http://10.0.0.1:80'): IngressRule =>
  path === undefined ? { hostname, service } : { hostname, path, service };

const key = (rule: IngressRule) => `${rule.hostname}${rule.path !== undefined ? ` ${rule.path}` : ''}`;

describe('orderIngressRules', () => {
  it.each<[string, IngressRule[], string[]]>([
    ['exact hostnames before wildcards', [r('*.example.com'), r('a.example.com')], ['a.example.com', '*.example.com']],
    [
      'deeper wildcards before shallower ones',
      [r('*.example.com'), r('*.apps.example.com'), r('b.example.com')],
      ['b.example.com', '*.apps.example.com', '*.example.com'],
    ],
    [
      'path rules before the path-less rule of the same host',
      [r('a.example.com'), r('a.example.com', '^/api')],
      ['a.example.com ^/api', 'a.example.com'],
    ],
    [
      'path rules of one hostname in the order given, not longest first',
      [r('a.example.com', '^/b'), r('a.example.com', '^/api/v1'), r('a.example.com', '^/api')],
      ['a.example.com ^/b', 'a.example.com ^/api/v1', 'a.example.com ^/api'],
    ],
    [
      'hostnames alphabetical, each keeping its own rules in order',
      [r('c.example.com'), r('a.example.com'), r('b.example.com', '^/y'), r('b.example.com', '^/x')],
      ['a.example.com', 'b.example.com ^/y', 'b.example.com ^/x', 'c.example.com'],
    ],
    [
      'any-host path rules after every hostname rule',
      [r('*', '^/metrics'), r('*.example.com'), r('a.example.com')],
      ['a.example.com', '*.example.com', '* ^/metrics'],
    ],
  ])('%s', (_name, input, expected) => {
    const result = orderIngressRules(input);
    expect(result.rules.map(key)).toEqual(expected);
    expect(result.shadowed).toEqual([]);
  });

  it("gives the same output whatever the order of hostnames, keeping each hostname's rules in order", () => {
    const groups = [
      [r('a.example.com'), r('a.example.com', '^/api')],
      [r('*.example.com')],
      [r('*.apps.example.com', '^/x')],
      [r('b.example.com', undefined, 'http://10.0.0.2:80'), r('b.example.com', undefined, 'http://10.0.0.1:80')],
    ];
    const expected = JSON.stringify(orderIngressRules(groups.flat()));
    for (const perm of permutations(groups)) {
      expect(JSON.stringify(orderIngressRules(perm.flat()))).toBe(expected);
    }
  });

  it('reports identical hostname+path rules, naming both', () => {
    const result = orderIngressRules([
      r('a.example.com', '^/api', 'http://10.0.0.2:80'),
      r('a.example.com', '^/api', 'http://10.0.0.1:80'),
    ]);
    expect(result.shadowed).toEqual([
      'ingress rule "a.example.com path ^/api → http://10.0.0.1:80" can never match: the earlier rule "a.example.com path ^/api → http://10.0.0.2:80" already matches every request it would',
    ]);
  });

  it('keeps a match-everything path where it was given, and reports the rules it hides', () => {
    const result = orderIngressRules([r('a.example.com', '^.*', 'http://10.0.0.9:80'), r('a.example.com', '^/x')]);
    expect(result.rules.map(key)).toEqual(['a.example.com ^.*', 'a.example.com ^/x']);
    expect(result.shadowed).toEqual([
      'ingress rule "a.example.com path ^/x → http://10.0.0.1:80" can never match: the earlier rule "a.example.com path ^.* → http://10.0.0.9:80" already matches every request it would',
    ]);
  });

  it('reports the path-less rule shadowed by a match-everything path of the same host', () => {
    const result = orderIngressRules([r('a.example.com'), r('a.example.com', '.*', 'http://10.0.0.9:80')]);
    expect(result.rules.map(key)).toEqual(['a.example.com .*', 'a.example.com']);
    expect(result.shadowed).toEqual([
      'ingress rule "a.example.com → http://10.0.0.1:80" can never match: the earlier rule "a.example.com path .* → http://10.0.0.9:80" already matches every request it would',
    ]);
  });

  it('reports a host rule shadowed by an earlier wildcard only when the wildcard is more general', () => {
    const result = orderIngressRules([r('*.example.com', '.*'), r('*.a.example.com', '^/x')]);
    expect(result.rules.map(key)).toEqual(['*.a.example.com ^/x', '*.example.com .*']);
    expect(result.shadowed).toEqual([]);
  });

  it('does not call an exact host shadowed by a wildcard (exact rules come first)', () => {
    const result = orderIngressRules([r('*.example.com'), r('a.example.com')]);
    expect(result.shadowed).toEqual([]);
  });

  it('does not treat a wildcard as matching its apex', () => {
    const result = orderIngressRules([r('*.example.com'), r('example.com')]);
    expect(result.shadowed).toEqual([]);
  });
});

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (const [i, item] of items.entries()) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [item, ...rest];
  }
}
