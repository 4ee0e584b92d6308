import { describe, expect, it } from 'vitest';
import { compileGoRegexp } from '../../../src/ingress/go-regexp.js';

// Tokens chosen to hit every branch of the parser, including the invalid ones.
const TOKENS = [
  'a',
  'Z',
  '0',
  '/',
  '.',
  '^',
  '$',
  '|',
  '(',
  ')',
  '(?:',
  '(?i)',
  '(?-i)',
  '(?s:',
  '(?m)',
  '(?U)',
  '(?P<n>',
  '(?<m>',
  '(?=',
  '*',
  '+',
  '?',
  '*?',
  '{2}',
  '{1,3}',
  '{2,}',
  '{',
  '}',
  '[',
  ']',
  '[^',
  '-',
  '[:alpha:]',
  '[[:^digit:]]',
  '\\d',
  '\\W',
  '\\s',
  '\\pL',
  '\\P{Greek}',
  '\\b',
  '\\A',
  '\\z',
  '\\Q',
  '\\E',
  '\\x41',
  '\\x{263a}',
  '\\101',
  '\\1',
  '\\',
  'é',
  '😀',
  ' ',
  '#',
  '&',
  '"',
];

function* patterns(count: number): Generator<string> {
  let seed = 0x2545f491;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  for (let i = 0; i < count; i++) {
    const length = 1 + (next() % 8);
    let p = '';
    for (let j = 0; j < length; j++) p += TOKENS[next() % TOKENS.length];
    yield p;
  }
}

describe('compileGoRegexp on generated patterns', () => {
  it('either reports a Go syntax error or yields a RegExp JavaScript accepts and can run', () => {
    let compiled = 0;
    for (const pattern of patterns(4000)) {
      const result = compileGoRegexp(pattern);
      if (result.ok) {
        compiled++;
        expect(() => result.regexp.test('/api/v1/Ab0é😀 "&#')).not.toThrow();
      } else {
        expect(result.error, pattern).toMatch(/^error parsing regexp: [A-Za-z0-9 ()\]-]+: `/);
      }
    }
    // The generator must exercise the success path, not only errors.
    expect(compiled).toBeGreaterThan(400);
  });
});
