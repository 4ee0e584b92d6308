/**
 * Does every request path one ingress rule matches also match an earlier rule's path?
 * cloudflared matches `path` as a Go RE2 regexp, unanchored, against the (percent-decoded)
 * request path, so a path rule's language is "all strings containing a match". Inclusion of
 * two arbitrary regular languages is decidable in principle but needs automata this project
 * does not build; what is decided here, exactly:
 *
 * - an earlier rule without a path, or whose path matches every string, covers everything;
 * - an exact path (`^/admin$`) is covered iff the earlier regexp matches it (checked with the
 *   project's RE2 port, the matcher `ingress rule` uses);
 * - literal prefixes (`^/api`), suffixes (`\.php$`) and substrings (`/api`) against each other,
 *   by string containment;
 * - anything else is refuted when a witness path matches the later rule but not the earlier
 *   one (probing well-chosen strings with both regexps).
 *
 * Everything else (e.g. `^/[a-z]+$` after `^/(a|b)[a-z]*$`) is "undecided": proxflare says so
 * instead of guessing. Only one earlier rule is compared at a time; a rule covered by several
 * earlier rules together is not detected.
 */
import { compileGoRegexp } from './go-regexp.js';

export type Coverage = 'covers' | 'does-not-cover' | 'undecided';

type Shape =
  | { kind: 'all' }
  | { kind: 'exact'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'suffix'; value: string }
  | { kind: 'contains'; value: string }
  | { kind: 'regexp' };

interface Path {
  source: string | undefined;
  shape: Shape;
  test: (path: string) => boolean;
}

const cache = new Map<string, Path>();

/** Metacharacters of RE2 outside a class; anything else stands for itself. */
const META = new Set(['.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\']);

/** The literal a regexp body spells, or undefined when it uses any operator or escape class. */
function literal(body: string): string | undefined {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c === '\\') {
      const next = body[i + 1];
      // `\` + punctuation is that punctuation; `\d`, `\pL`, `\Q`… are not literals.
      if (next === undefined || /[A-Za-z0-9]/.test(next) || next.charCodeAt(0) > 0x7f) return undefined;
      out += next;
      i++;
    } else if (META.has(c)) {
      return undefined;
    } else {
      out += c;
    }
  }
  return out;
}

function endsWithUnescapedDollar(source: string): boolean {
  if (!source.endsWith('$')) return false;
  let backslashes = 0;
  for (let i = source.length - 2; i >= 0 && source[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** No `^ $ \b \B \A \z` anywhere (conservative: a `^` inside `[^…]` counts too). */
function assertionFree(body: string): boolean {
  return !/[\^$]|\\[bBAz]/.test(body);
}

function shapeOf(source: string, test: (s: string) => boolean): Shape {
  const anchoredStart = source.startsWith('^');
  const anchoredEnd = endsWithUnescapedDollar(source);
  const body = source.slice(anchoredStart ? 1 : 0, anchoredEnd ? -1 : undefined);
  // A regexp that matches "" without looking at its context matches at offset 0 (or the end)
  // of every path; with only one anchor that still holds.
  if (!(anchoredStart && anchoredEnd) && assertionFree(body) && test('')) return { kind: 'all' };
  const value = literal(body);
  if (value === undefined) return { kind: 'regexp' };
  if (anchoredStart && anchoredEnd) return { kind: 'exact', value };
  if (anchoredStart) return { kind: 'prefix', value };
  if (anchoredEnd) return { kind: 'suffix', value };
  return { kind: 'contains', value };
}

function analyse(source: string | undefined): Path {
  const key = source ?? '\u0000none';
  const hit = cache.get(key);
  if (hit) return hit;
  let path: Path;
  if (source === undefined || source === '') {
    path = { source, shape: { kind: 'all' }, test: () => true };
  } else {
    const compiled = compileGoRegexp(source);
    // An invalid regexp never reaches here (validation refuses it); treat it as opaque.
    const test = compiled.ok ? (s: string) => compiled.regexp.test(s) : () => false;
    path = { source, shape: compiled.ok ? shapeOf(source, test) : { kind: 'regexp' }, test };
  }
  if (cache.size > 10_000) cache.clear();
  cache.set(key, path);
  return path;
}

const PROBES = [
  '',
  '/',
  '/a',
  '/x',
  '/A',
  '/0',
  '/-',
  '/.',
  '/_',
  '/~',
  '/a/b',
  '/a.b',
  '/api',
  '/admin',
  '/index.html',
  '/\n',
  '\n',
  '/ä',
  '//',
];

/** Strings the later rule's path might match, to look for a witness against the earlier one. */
function witnesses(inner: Path, outer: Path): string[] {
  const fragments = [inner.shape, outer.shape].flatMap((s) => ('value' in s ? [s.value] : []));
  // Words of the later regexp (`^/(api|v1)` → api, v1) are likely pieces of what it matches.
  for (const word of (inner.source ?? '').match(/[A-Za-z0-9_-]+/g) ?? []) fragments.push(word);
  const out = [...PROBES];
  for (const f of fragments) out.push(f, `${f}/`, `${f}x`, `${f}/x`, `/${f}`, `x${f}`, `${f}\n`);
  return out;
}

/** Is every path `inner` matches also matched by `outer`? (`undefined` = no path filter.) */
export function pathCovers(outerSource: string | undefined, innerSource: string | undefined): Coverage {
  const outer = analyse(outerSource);
  const inner = analyse(innerSource);
  if (outer.shape.kind === 'all') return 'covers';
  if (outerSource === innerSource) return 'covers';
  const o = outer.shape;
  const i = inner.shape;
  if (i.kind === 'exact') return outer.test(i.value) ? 'covers' : 'does-not-cover';
  if (i.kind === 'prefix') {
    if (o.kind === 'prefix') return i.value.startsWith(o.value) ? 'covers' : 'does-not-cover';
    if (o.kind === 'contains') return i.value.includes(o.value) ? 'covers' : 'does-not-cover';
  }
  if (i.kind === 'suffix') {
    if (o.kind === 'suffix') return i.value.endsWith(o.value) ? 'covers' : 'does-not-cover';
    if (o.kind === 'contains') return i.value.includes(o.value) ? 'covers' : 'does-not-cover';
  }
  if (i.kind === 'contains' && o.kind === 'contains') return i.value.includes(o.value) ? 'covers' : 'does-not-cover';
  // One string the later rule matches and the earlier does not settles it.
  for (const w of witnesses(inner, outer)) if (inner.test(w) && !outer.test(w)) return 'does-not-cover';
  return 'undecided';
}
