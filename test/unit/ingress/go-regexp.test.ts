import { describe, expect, it } from 'vitest';
import { compileGoRegexp } from '../../../src/ingress/go-regexp.js';

describe("compileGoRegexp rejects what Go rejects, with Go's message", () => {
  it.each([
    ['[a-', 'missing closing ]: `[a-`'],
    ['(?=/api)', 'invalid or unsupported Perl syntax: `(?=`'],
    ['(?!/api)', 'invalid or unsupported Perl syntax: `(?!`'],
    ['(?<=/api)x', 'invalid named capture: `(?<=/api)x`'],
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['\\8', 'invalid escape sequence: `\\8`'],
    ['\\Z', 'invalid escape sequence: `\\Z`'],
    ['\\C', 'invalid escape sequence: `\\C`'],
    ['*', 'missing argument to repetition operator: `*`'],
    ['/api|*', 'missing argument to repetition operator: `*`'],
    ['(*)', 'missing argument to repetition operator: `*`'],
    ['a**', 'invalid nested repetition operator: `**`'],
    ['a++', 'invalid nested repetition operator: `++`'],
    ['a{2}{3}', 'invalid nested repetition operator: `{2}{3}`'],
    ['a{2,1}', 'invalid repeat count: `{2,1}`'],
    ['a{1001}', 'invalid repeat count: `{1001}`'],
    ['(a{500}){3}', 'invalid repeat count: `{3}`'],
    ['(/api', 'missing closing ): `(/api`'],
    ['/api)', 'unexpected ): `/api)`'],
    ['/api\\', 'trailing backslash at end of expression: ``'],
    ['[z-a]', 'invalid character class range: `z-a`'],
    ['[[:word2:]]', 'invalid character class range: `[:word2:]`'],
    ['\\p{Klingon}', 'invalid character class range: `\\p{Klingon}`'],
    ['(?P<1a-b>x)', 'invalid named capture: `(?P<1a-b>`'],
    ['(?#comment)', 'invalid or unsupported Perl syntax: `(?#`'],
    ['(?i', 'invalid or unsupported Perl syntax: `(?i`'],
    ['(?i-)', 'invalid or unsupported Perl syntax: `(?i-)`'],
    ['\\x4', 'invalid escape sequence: `\\x4`'],
    ['\\x{}', 'invalid escape sequence: `\\x{}`'],
  ])('%s', (pattern, message) => {
    expect(compileGoRegexp(pattern)).toEqual({ ok: false, error: `error parsing regexp: ${message}` });
  });
});

describe('compileGoRegexp matches what Go matches', () => {
  const matches = (pattern: string, input: string): boolean => {
    const r = compileGoRegexp(pattern);
    if (!r.ok) throw new Error(r.error);
    return r.regexp.test(input);
  };

  it.each<[string, string, boolean]>([
    ['^/api/.*', '/api/v1', true],
    ['^/api/.*', '/v1/api/', false],
    ['/api', '/v1/api/x', true], // unanchored, like Go's MatchString
    ['\\.(jpg|png)$', '/a.png', true],
    ['\\.(jpg|png)$', '/apng', false],
    ['^/a$', '/a\n', false], // Go's $ is end of text, never before a final newline
    ['(?m)^/b$', '/a\n/b\n/c', true],
    ['.', '\n', false],
    ['(?s).', '\n', true],
    ['.', '\r', true], // Go's . only excludes \n
    ['[^a]', '\n', true],
    ['\\s', '\v', false], // Perl \s in RE2 has no \v
    ['\\s', '\f', true],
    ['\\QA.B\\E', 'A.B', true],
    ['\\QA.B\\E', 'AxB', false],
    ['(?i)/API', '/api', true],
    ['/a(?i)pi', '/aPI', true],
    ['/a(?i)pi', '/API', false],
    ['(?i:A)b', 'aB', false],
    ['(?i:A)b', 'ab', true],
    ['(?i)k', '\u212a', true], // Kelvin sign folds to k
    ['[[:alpha:]]+$', '/abc', true],
    ['[[:^digit:]]', '1', false],
    ['\\pL', 'é', true],
    ['\\p{Greek}', 'α', true],
    ['\\PL', 'é', false],
    ['(?P<v>v[0-9]+)', '/v2', true],
    ['(?<v>v[0-9]+)', '/v2', true],
    ['\\x{1F600}', '😀', true],
    ['\\101', 'A', true], // octal escape
    ['a{,2}', 'a{,2}', true], // not a valid repeat, so literal
    ['^*/x', '/x', true], // Go allows repeating an empty-width assertion
    ['\\Aab\\z', 'ab', true],
    ['\\bapi\\b', '/api/', true],
    ['(?U)a+', 'aaa', true],
  ])('%s on %j → %s', (pattern, input, expected) => {
    expect(matches(pattern, input)).toBe(expected);
  });
});
