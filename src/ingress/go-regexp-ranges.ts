/**
 * Code-point ranges for the Go RE2 translator: the character classes RE2 defines
 * (Perl and POSIX), Go's case folding, and rendering a class as JavaScript source
 * with explicit ranges, so the JS engine's own notion of `\s`, `\w` or case never leaks in.
 */

export const MAX_RUNE = 0x10ffff;

export type Range = [number, number];

export interface ClassBuilder {
  ranges: Range[];
  /** JavaScript `\p{…}`/`\P{…}` items that cannot be expanded into ranges. */
  props: string[];
}

export const DIGIT: Range[] = [[0x30, 0x39]];
export const SPACE: Range[] = [
  [0x09, 0x0a],
  [0x0c, 0x0d],
  [0x20, 0x20],
];
export const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];

export const POSIX_GROUPS: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: DIGIT,
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: WORD,
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

export function negateRanges(ranges: Range[]): Range[] {
  const sorted = normalizeRanges(ranges);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

export function normalizeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

/** Case variants of one code point (Go's simple case folding orbit, approximated). */
function caseVariants(cp: number): number[] {
  const seen = new Set<number>([cp]);
  const queue = [cp];
  const extra: Record<number, number[]> = {
    0x4b: [0x212a],
    0x6b: [0x212a],
    0x212a: [0x4b, 0x6b],
    0x53: [0x17f],
    0x73: [0x17f],
    0x17f: [0x53, 0x73],
    0xc5: [0x212b],
    0xe5: [0x212b],
    0x212b: [0xc5, 0xe5],
  };
  while (queue.length) {
    const c = queue.pop()!;
    const ch = String.fromCodePoint(c);
    const candidates = [ch.toLowerCase(), ch.toUpperCase()].filter((v) => [...v].length === 1).map((v) => v.codePointAt(0)!);
    for (const v of [...candidates, ...(extra[c] ?? [])]) {
      if (!seen.has(v)) {
        seen.add(v);
        queue.push(v);
      }
    }
  }
  return [...seen];
}

let casedCodePoints: number[] | undefined;

/** Every code point with a case variant, ascending (computed once, on first use of `(?i)`). */
function casedPoints(): number[] {
  if (!casedCodePoints) {
    casedCodePoints = [];
    // All cased characters live below U+20000.
    for (let cp = 0; cp < 0x20000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (ch.toLowerCase() !== ch || ch.toUpperCase() !== ch || cp === 0x17f || cp === 0x212a || cp === 0x212b) {
        casedCodePoints.push(cp);
      }
    }
  }
  return casedCodePoints;
}

/** Adds case variants of every code point, as Go does for classes under `(?i)`. */
export function foldRanges(ranges: Range[]): Range[] {
  const out: Range[] = [...ranges];
  const addVariants = (cp: number) => {
    for (const v of caseVariants(cp)) if (v !== cp) out.push([v, v]);
  };
  for (const [lo, hi] of normalizeRanges(ranges)) {
    if (hi - lo < 256) {
      for (let cp = lo; cp <= hi; cp++) addVariants(cp);
      continue;
    }
    const cased = casedPoints();
    for (let i = lowerBound(cased, lo); i < cased.length && cased[i]! <= hi; i++) addVariants(cased[i]!);
  }
  return normalizeRanges(out);
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function foldClass(cls: ClassBuilder): ClassBuilder {
  return { ranges: foldRanges(cls.ranges), props: cls.props };
}

export function escapeCodePoint(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /^[A-Za-z0-9]$/.test(ch) ? ch : `\\u{${cp.toString(16)}}`;
}

export function renderClass(cls: ClassBuilder, negated: boolean): string {
  const items = normalizeRanges(cls.ranges).map(([lo, hi]) =>
    lo === hi ? escapeCodePoint(lo) : `${escapeCodePoint(lo)}-${escapeCodePoint(hi)}`,
  );
  return `[${negated ? '^' : ''}${items.join('')}${cls.props.join('')}]`;
}
