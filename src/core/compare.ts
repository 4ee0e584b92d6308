/**
 * Orders strings by code point, the same on every machine. `localeCompare` would make a plan's
 * order depend on the user's locale, and its first call loads ICU's collator (~8 ms of a run).
 * Everything sorted here is an identifier, a hostname, a version or an ISO date.
 */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
