/**
 * cloudflared compiles ingress `path` values with Go's `regexp` package (RE2 syntax),
 * whose grammar differs from JavaScript's: no lookaround or backreferences, `\Q…\E`,
 * POSIX classes, inline flag groups that can change mid-pattern, `.` excluding only
 * `\n`, `\s` without `\v`, `$` meaning end of text. This module parses a pattern the
 * way Go's regexp/syntax parser does (same acceptance, same error text) and
 * translates it into an equivalent JavaScript RegExp so matching agrees as well.
 */
import {
  DIGIT,
  escapeCodePoint,
  foldClass,
  foldRanges,
  MAX_RUNE,
  negateRanges,
  POSIX_GROUPS,
  renderClass,
  SPACE,
  WORD,
} from './go-regexp-ranges.js';
import type { ClassBuilder, Range } from './go-regexp-ranges.js';

export type GoRegexpResult = { ok: true; regexp: RegExp; source: string } | { ok: false; error: string };

const MAX_REPEAT = 1000;

const ErrInvalidCharRange = 'invalid character class range';
const ErrInvalidEscape = 'invalid escape sequence';
const ErrInvalidNamedCapture = 'invalid named capture';
const ErrInvalidPerlOp = 'invalid or unsupported Perl syntax';
const ErrInvalidRepeatOp = 'invalid nested repetition operator';
const ErrInvalidRepeatSize = 'invalid repeat count';
const ErrMissingBracket = 'missing closing ]';
const ErrMissingParen = 'missing closing )';
const ErrMissingRepeatArgument = 'missing argument to repetition operator';
const ErrTrailingBackslash = 'trailing backslash at end of expression';
const ErrUnexpectedParen = 'unexpected )';

class GoSyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`error parsing regexp: ${code}: \`${expr}\``);
  }
}

interface Flags {
  foldCase: boolean;
  /** Go's OneLine: `^`/`$` match only at text boundaries (cleared by `(?m)`). */
  oneLine: boolean;
  dotNL: boolean;
  nonGreedy: boolean;
}

/** A counted repetition node, kept only to reproduce Go's nested-repeat size check. */
interface RepeatNode {
  max: number;
  min: number;
  subs: RepeatNode[];
}

interface Atom {
  js: string;
  repeats: RepeatNode[];
}

interface Frame {
  /** Flags to restore when this group closes. */
  savedFlags: Flags;
  /** 'capture' | 'group' for real groups; 'root' for the whole expression. */
  kind: 'root' | 'capture' | 'group';
  alternatives: Atom[][];
}

/** Parses `expr` with Go RE2 semantics; on success returns an equivalent JS RegExp. */
export function compileGoRegexp(expr: string): GoRegexpResult {
  try {
    const source = new GoRegexpTranslator(expr).translate();
    return { ok: true, regexp: new RegExp(source, 'u'), source };
  } catch (err) {
    if (err instanceof GoSyntaxError) return { ok: false, error: err.message };
    throw err;
  }
}

class GoRegexpTranslator {
  private flags: Flags = { foldCase: false, oneLine: true, dotNL: false, nonGreedy: false };
  private readonly stack: Frame[] = [];

  constructor(private readonly whole: string) {}

  translate(): string {
    this.stack.push({ kind: 'root', savedFlags: { ...this.flags }, alternatives: [[]] });
    let t = this.whole;
    let lastRepeat = '';
    while (t !== '') {
      let repeat = '';
      const c = t[0]!;
      switch (c) {
        case '(':
          if (t.length >= 2 && t[1] === '?') {
            t = this.parsePerlFlags(t);
            break;
          }
          this.openGroup('capture');
          t = t.slice(1);
          break;
        case '|':
          this.frame().alternatives.push([]);
          t = t.slice(1);
          break;
        case ')':
          this.closeGroup();
          t = t.slice(1);
          break;
        case '^':
          this.push(this.flags.oneLine ? '^' : '(?<![^\\n])');
          t = t.slice(1);
          break;
        case '$':
          this.push(this.flags.oneLine ? '$' : '(?![^\\n])');
          t = t.slice(1);
          break;
        case '.':
          this.push(this.flags.dotNL ? '[^]' : '[^\\n]');
          t = t.slice(1);
          break;
        case '[':
          t = this.parseClass(t);
          break;
        case '*':
        case '+':
        case '?': {
          const before = t;
          const after = this.repeat(c, -1, -1, before, t.slice(1), lastRepeat);
          repeat = before;
          t = after;
          break;
        }
        case '{': {
          const before = t;
          const parsed = parseRepeat(t);
          if (!parsed) {
            this.pushLiteral('{'.codePointAt(0)!);
            t = t.slice(1);
            break;
          }
          const { min, max, rest } = parsed;
          if (min < 0 || min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
            throw new GoSyntaxError(ErrInvalidRepeatSize, before.slice(0, before.length - rest.length));
          }
          const after = this.repeat('{', min, max, before, rest, lastRepeat);
          repeat = before;
          t = after;
          break;
        }
        case '\\':
          t = this.parseBackslash(t);
          break;
        default: {
          const cp = t.codePointAt(0)!;
          this.pushLiteral(cp);
          t = t.slice(cp > 0xffff ? 2 : 1);
        }
      }
      lastRepeat = repeat;
    }
    if (this.stack.length !== 1) throw new GoSyntaxError(ErrMissingParen, this.whole);
    return joinAlternatives(this.frame().alternatives);
  }

  private frame(): Frame {
    return this.stack[this.stack.length - 1]!;
  }

  private currentAlternative(): Atom[] {
    const alts = this.frame().alternatives;
    return alts[alts.length - 1]!;
  }

  private push(js: string, repeats: RepeatNode[] = []): void {
    this.currentAlternative().push({ js, repeats });
  }

  private pushLiteral(cp: number): void {
    this.push(this.flags.foldCase ? renderClass({ ranges: foldRanges([[cp, cp]]), props: [] }, false) : escapeCodePoint(cp));
  }

  private openGroup(kind: 'capture' | 'group'): void {
    this.stack.push({ kind, savedFlags: { ...this.flags }, alternatives: [[]] });
  }

  private closeGroup(): void {
    const frame = this.frame();
    if (frame.kind === 'root') throw new GoSyntaxError(ErrUnexpectedParen, this.whole);
    this.stack.pop();
    this.flags = frame.savedFlags;
    const inner = joinAlternatives(frame.alternatives);
    const repeats = frame.alternatives.flat().flatMap((a) => a.repeats);
    this.push(frame.kind === 'capture' ? `(${inner})` : `(?:${inner})`, repeats);
  }

  /** Go's parser.repeat: validates the operand and wraps the last atom. */
  private repeat(op: string, min: number, max: number, before: string, after: string, lastRepeat: string): string {
    let nonGreedy = this.flags.nonGreedy;
    if (after.startsWith('?')) {
      after = after.slice(1);
      nonGreedy = !nonGreedy;
    }
    if (lastRepeat !== '') {
      throw new GoSyntaxError(ErrInvalidRepeatOp, lastRepeat.slice(0, lastRepeat.length - after.length));
    }
    const atoms = this.currentAlternative();
    const sub = atoms[atoms.length - 1];
    if (!sub) throw new GoSyntaxError(ErrMissingRepeatArgument, before.slice(0, before.length - after.length));
    let quantifier: string;
    let repeats = sub.repeats;
    if (op === '{') {
      quantifier = max === -1 ? `{${min},}` : min === max ? `{${min}}` : `{${min},${max}}`;
      const node: RepeatNode = { min, max, subs: sub.repeats };
      if ((min >= 2 || max >= 2) && !repeatIsValid(node, MAX_REPEAT)) {
        throw new GoSyntaxError(ErrInvalidRepeatSize, before.slice(0, before.length - after.length));
      }
      repeats = [node];
    } else {
      quantifier = op;
    }
    atoms[atoms.length - 1] = { js: `(?:${sub.js})${quantifier}${nonGreedy ? '?' : ''}`, repeats };
    return after;
  }

  /** `(?flags)`, `(?flags:…)`, `(?P<name>…)`, `(?<name>…)`; everything else is unsupported Perl syntax. */
  private parsePerlFlags(s: string): string {
    let t = s;
    if ((t.length > 4 && t[2] === 'P' && t[3] === '<') || (t.length > 3 && t[2] === '<')) {
      const begin = t[2] === '<' ? 3 : 4;
      const end = t.indexOf('>');
      if (end < 0) throw new GoSyntaxError(ErrInvalidNamedCapture, s);
      const capture = t.slice(0, end + 1);
      const name = t.slice(begin, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) throw new GoSyntaxError(ErrInvalidNamedCapture, capture);
      this.openGroup('capture');
      return t.slice(end + 1);
    }
    t = t.slice(2);
    const flags = { ...this.flags };
    let negate = false;
    let sawFlag = false;
    while (t !== '') {
      const c = t[0]!;
      t = t.slice(1);
      switch (c) {
        case 'i':
          flags.foldCase = !negate;
          sawFlag = true;
          continue;
        case 'm':
          flags.oneLine = negate;
          sawFlag = true;
          continue;
        case 's':
          flags.dotNL = !negate;
          sawFlag = true;
          continue;
        case 'U':
          flags.nonGreedy = !negate;
          sawFlag = true;
          continue;
        case '-':
          if (negate) break;
          negate = true;
          sawFlag = false;
          continue;
        case ':':
        case ')':
          if (negate && !sawFlag) break;
          if (c === ':') this.openGroup('group');
          this.flags = flags;
          return t;
      }
      break;
    }
    throw new GoSyntaxError(ErrInvalidPerlOp, s.slice(0, s.length - t.length));
  }

  private parseBackslash(t: string): string {
    if (t.length >= 2) {
      switch (t[1]) {
        case 'A':
          this.push('^');
          return t.slice(2);
        case 'z':
          this.push('$');
          return t.slice(2);
        case 'b':
          this.push('\\b');
          return t.slice(2);
        case 'B':
          this.push('\\B');
          return t.slice(2);
        case 'C':
          throw new GoSyntaxError(ErrInvalidEscape, t.slice(0, 2));
        case 'Q': {
          const body = t.slice(2);
          const end = body.indexOf('\\E');
          const lit = end < 0 ? body : body.slice(0, end);
          for (const ch of lit) this.pushLiteral(ch.codePointAt(0)!);
          return end < 0 ? '' : body.slice(end + 2);
        }
      }
    }
    const cls: ClassBuilder = { ranges: [], props: [] };
    const afterUnicode = parseUnicodeClass(t, cls);
    if (afterUnicode !== undefined) {
      this.push(renderClass(this.flags.foldCase ? foldClass(cls) : cls, false));
      return afterUnicode;
    }
    const afterPerl = parsePerlClassEscape(t, cls);
    if (afterPerl !== undefined) {
      this.push(renderClass(this.flags.foldCase ? foldClass(cls) : cls, false));
      return afterPerl;
    }
    const { rune, rest } = parseEscape(t);
    this.pushLiteral(rune);
    return rest;
  }

  private parseClass(s: string): string {
    let t = s.slice(1);
    let negated = false;
    if (t.startsWith('^')) {
      negated = true;
      t = t.slice(1);
    }
    const cls: ClassBuilder = { ranges: [], props: [] };
    let first = true;
    while (t === '' || t[0] !== ']' || first) {
      first = false;
      if (t.length > 2 && t[0] === '[' && t[1] === ':') {
        const rest = parseNamedClass(t, cls);
        if (rest !== undefined) {
          t = rest;
          continue;
        }
      }
      const afterUnicode = parseUnicodeClass(t, cls);
      if (afterUnicode !== undefined) {
        t = afterUnicode;
        continue;
      }
      const afterPerl = parsePerlClassEscape(t, cls);
      if (afterPerl !== undefined) {
        t = afterPerl;
        continue;
      }
      const rng = t;
      const lo = parseClassChar(t, s);
      t = lo.rest;
      let hi = lo.rune;
      if (t.length >= 2 && t[0] === '-' && t[1] !== ']') {
        t = t.slice(1);
        const h = parseClassChar(t, s);
        t = h.rest;
        hi = h.rune;
        if (hi < lo.rune) throw new GoSyntaxError(ErrInvalidCharRange, rng.slice(0, rng.length - t.length));
      }
      cls.ranges.push([lo.rune, hi]);
    }
    t = t.slice(1);
    this.push(renderClass(this.flags.foldCase ? foldClass(cls) : cls, negated));
    return t;
  }
}

function joinAlternatives(alternatives: Atom[][]): string {
  return alternatives.map((alt) => alt.map((a) => a.js).join('')).join('|');
}

function repeatIsValid(node: RepeatNode, n: number): boolean {
  let m = node.max;
  if (m === 0) return true;
  if (m < 0) m = node.min;
  if (m > n) return false;
  if (m > 0) n = Math.trunc(n / m);
  return node.subs.every((s) => repeatIsValid(s, n));
}

function parseInt10(s: string): { n: number; rest: string } | undefined {
  if (s === '' || s[0]! < '0' || s[0]! > '9') return undefined;
  if (s.length >= 2 && s[0] === '0' && s[1]! >= '0' && s[1]! <= '9') return undefined;
  let i = 0;
  while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
  const digits = s.slice(0, i);
  let n = 0;
  for (const d of digits) {
    if (n >= 1e8) {
      n = -1;
      break;
    }
    n = n * 10 + Number(d);
  }
  return { n, rest: s.slice(i) };
}

/** `{n}`, `{n,}`, `{n,m}`; undefined means the `{` is a literal. */
function parseRepeat(s: string): { min: number; max: number; rest: string } | undefined {
  let t = s.slice(1);
  const lo = parseInt10(t);
  if (!lo) return undefined;
  let min = lo.n;
  let max: number;
  t = lo.rest;
  if (t === '') return undefined;
  if (t[0] !== ',') {
    max = min;
  } else {
    t = t.slice(1);
    if (t === '') return undefined;
    if (t[0] === '}') {
      max = -1;
    } else {
      const hi = parseInt10(t);
      if (!hi) return undefined;
      max = hi.n;
      t = hi.rest;
      if (max < 0) min = -1;
    }
  }
  if (t === '' || t[0] !== '}') return undefined;
  return { min, max, rest: t.slice(1) };
}

function unhex(c: string): number {
  if (/^[0-9]$/.test(c)) return c.charCodeAt(0) - 48;
  if (/^[a-f]$/.test(c)) return c.charCodeAt(0) - 87;
  if (/^[A-F]$/.test(c)) return c.charCodeAt(0) - 55;
  return -1;
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7';
}

/** Go's parser.parseEscape: a single escaped character. */
function parseEscape(s: string): { rune: number; rest: string } {
  let t = s.slice(1);
  if (t === '') throw new GoSyntaxError(ErrTrailingBackslash, '');
  const c = String.fromCodePoint(t.codePointAt(0)!);
  t = t.slice(c.length);
  const fail = (): never => {
    throw new GoSyntaxError(ErrInvalidEscape, s.slice(0, s.length - t.length));
  };
  if (c.length === 1 && c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9]/.test(c)) {
    return { rune: c.charCodeAt(0), rest: t };
  }
  switch (c) {
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7': {
      // A lone non-zero digit would be a backreference, which RE2 does not support.
      if (c !== '0' && !isOctal(t[0])) return fail();
      let r = Number(c);
      for (let i = 1; i < 3 && isOctal(t[0]); i++) {
        r = r * 8 + Number(t[0]);
        t = t.slice(1);
      }
      return { rune: r, rest: t };
    }
    case 'x': {
      if (t === '') return fail();
      const c1 = String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c1.length);
      if (c1 === '{') {
        let nhex = 0;
        let r = 0;
        for (;;) {
          if (t === '') return fail();
          const d = String.fromCodePoint(t.codePointAt(0)!);
          t = t.slice(d.length);
          if (d === '}') break;
          const v = unhex(d);
          if (v < 0) return fail();
          r = r * 16 + v;
          if (r > MAX_RUNE) return fail();
          nhex++;
        }
        if (nhex === 0) return fail();
        return { rune: r, rest: t };
      }
      const x = unhex(c1);
      const c2 = t === '' ? '' : String.fromCodePoint(t.codePointAt(0)!);
      t = t.slice(c2.length);
      if (x < 0 || unhex(c2) < 0) return fail();
      return { rune: x * 16 + unhex(c2), rest: t };
    }
    case 'a':
      return { rune: 7, rest: t };
    case 'f':
      return { rune: 12, rest: t };
    case 'n':
      return { rune: 10, rest: t };
    case 'r':
      return { rune: 13, rest: t };
    case 't':
      return { rune: 9, rest: t };
    case 'v':
      return { rune: 11, rest: t };
  }
  return fail();
}

function parseClassChar(s: string, wholeClass: string): { rune: number; rest: string } {
  if (s === '') throw new GoSyntaxError(ErrMissingBracket, wholeClass);
  if (s[0] === '\\') return parseEscape(s);
  const cp = s.codePointAt(0)!;
  return { rune: cp, rest: s.slice(cp > 0xffff ? 2 : 1) };
}

/** `[:alpha:]` / `[:^alpha:]` inside a class. undefined: not a named class. */
function parseNamedClass(s: string, cls: ClassBuilder): string | undefined {
  const i = s.indexOf(':]', 2);
  if (i < 0) return undefined;
  const name = s.slice(0, i + 2);
  const inner = name.slice(2, -2);
  const negated = inner.startsWith('^');
  const group = POSIX_GROUPS[negated ? inner.slice(1) : inner];
  if (!group) throw new GoSyntaxError(ErrInvalidCharRange, name);
  cls.ranges.push(...(negated ? negateRanges(group) : group));
  return s.slice(i + 2);
}

function parsePerlClassEscape(s: string, cls: ClassBuilder): string | undefined {
  if (s.length < 2 || s[0] !== '\\') return undefined;
  const groups: Record<string, Range[]> = { d: DIGIT, s: SPACE, w: WORD };
  const c = s[1]!;
  const group = groups[c.toLowerCase()];
  if (!group) return undefined;
  cls.ranges.push(...(c === c.toUpperCase() ? negateRanges(group) : group));
  return s.slice(2);
}

const GO_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

function unicodeProperty(name: string): string | undefined {
  if (GO_CATEGORIES.has(name)) return `General_Category=${name}`;
  if (!/^[A-Za-z_]+$/.test(name)) return undefined;
  try {
    new RegExp(`\\p{Script=${name}}`, 'u');
    return `Script=${name}`;
  } catch {
    return undefined;
  }
}

/** `\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}`. undefined: not a Unicode class escape. */
function parseUnicodeClass(s: string, cls: ClassBuilder): string | undefined {
  if (s.length < 2 || s[0] !== '\\' || (s[1] !== 'p' && s[1] !== 'P')) return undefined;
  let positive = s[1] === 'p';
  let t = s.slice(2);
  const c = t === '' ? '' : String.fromCodePoint(t.codePointAt(0)!);
  t = t.slice(c.length);
  let seq: string;
  let name: string;
  if (c !== '{') {
    seq = s.slice(0, s.length - t.length);
    name = seq.slice(2);
  } else {
    const end = s.indexOf('}');
    if (end < 0) throw new GoSyntaxError(ErrInvalidCharRange, s);
    seq = s.slice(0, end + 1);
    t = s.slice(end + 1);
    name = s.slice(3, end);
  }
  if (name.startsWith('^')) {
    positive = !positive;
    name = name.slice(1);
  }
  if (name === 'Any') {
    cls.ranges.push(...(positive ? [[0, MAX_RUNE] as Range] : []));
    return t;
  }
  const prop = unicodeProperty(name);
  if (!prop) throw new GoSyntaxError(ErrInvalidCharRange, seq);
  cls.props.push(`\\${positive ? 'p' : 'P'}{${prop}}`);
  return t;
}
