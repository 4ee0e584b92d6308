import { describe, expect, it } from 'vitest';
import { compileGoRegexp } from '../../../src/ingress/go-regexp.js';
import { pathCovers, type Coverage } from '../../../src/ingress/path-coverage.js';

describe('pathCovers (does the earlier path match every path the later one does?)', () => {
  it.each<[outer: string | undefined, inner: string | undefined, expected: Coverage]>([
    // No path, or a path matching every string.
    [undefined, '^/api', 'covers'],
    ['.*', undefined, 'covers'],
    ['^', '^/x', 'covers'],
    ['a*', '^/x', 'covers'],
    ['^.*$', undefined, 'does-not-cover'], // `.` stops at a newline: "/a%0Ab" reaches the later rule
    ['^/api', undefined, 'does-not-cover'],
    // Exact paths are decided by the RE2 port.
    ['^/[a-z]+$', '^/admin$', 'covers'],
    ['^/admin$', '^/[a-z]+$', 'does-not-cover'],
    ['(?i)^/ADMIN', '^/admin$', 'covers'],
    ['\\pL', '^/ä$', 'covers'],
    // Literal prefixes, suffixes and substrings.
    ['^/api', '^/api/v2', 'covers'],
    ['^/api/v2', '^/api', 'does-not-cover'],
    ['/', '^/api', 'covers'],
    ['api', '^/api', 'covers'],
    ['\\.php$', 'index\\.php$', 'covers'],
    ['^/api', '/api', 'does-not-cover'],
    ['^/a', '^/api', 'covers'],
    // Refuted by a witness.
    ['^/[a-z]+$', '^/api', 'does-not-cover'],
    ['^/admin$', '/', 'does-not-cover'],
    ['^/api', '^/(api|v1)', 'does-not-cover'],
    // The same regexp is the same language.
    ['^/(a|b)[0-9]+$', '^/(a|b)[0-9]+$', 'covers'],
    // Not decided: no witness among the probes, no shape to compare.
    ['^/(a|b)', '^/a[0-9]+', 'undecided'],
  ])('%s before %s: %s', (outer, inner, expected) => {
    expect(pathCovers(outer, inner)).toBe(expected);
  });

  it('never claims coverage a counterexample refutes (random pairs, checked on random paths)', () => {
    const pieces = ['/', 'a', 'b', 'api', '[a-z]+', '[0-9]*', '\\.', 'x?', '(a|b)', '.'];
    let s = 7;
    const pick = (n: number) => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n;
    const regexp = () =>
      `${pick(2) ? '^' : ''}${Array.from({ length: 1 + pick(3) }, () => pieces[pick(pieces.length)]).join('')}${pick(2) ? '$' : ''}`;
    const sample = () => Array.from({ length: pick(6) }, () => '/ab.1x-'[pick(7)]).join('');
    for (let n = 0; n < 400; n++) {
      const outer = regexp();
      const inner = regexp();
      if (pathCovers(outer, inner) !== 'covers') continue;
      const o = compileGoRegexp(outer);
      const i = compileGoRegexp(inner);
      if (!o.ok || !i.ok) continue;
      for (let k = 0; k < 200; k++) {
        const path = sample();
        if (i.regexp.test(path)) expect(o.regexp.test(path), `${outer} should cover ${inner} on ${JSON.stringify(path)}`).toBe(true);
      }
    }
  });
});
