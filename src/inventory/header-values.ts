import type { IssueSink } from './issue-sink.js';

/**
 * Values that travel in HTTP headers (the Proxmox `Authorization: PVEAPIToken=ID=SECRET`
 * and the Cloudflare bearer token). A control character, a line break or a character outside
 * visible ASCII (a zero-width space pasted from a web page, a non-breaking space) would only fail
 * deep inside the HTTP client, naming no field; here it is named with its position and code point.
 * Tokens never contain spaces, so visible ASCII (0x21–0x7e) is the whole alphabet.
 */
export const HEADER_FIELDS = [
  ['proxmox', 'tokenId'],
  ['proxmox', 'tokenSecret'],
  ['cloudflare', 'apiToken'],
] as const;

export interface BadCharacter {
  /** 1-based position in the value (in characters). */
  position: number;
  codePoint: number;
}

export function firstBadHeaderCharacter(value: string): BadCharacter | undefined {
  let position = 0;
  for (const ch of value) {
    position++;
    const code = ch.codePointAt(0)!;
    if (code < 0x21 || code > 0x7e) return { position, codePoint: code };
  }
  return undefined;
}

const NAMES: Record<number, string> = {
  0x09: 'tab',
  0x0a: 'line feed',
  0x0d: 'carriage return',
  0x20: 'space',
  0xa0: 'no-break space',
  0xad: 'soft hyphen',
  0x200b: 'zero-width space',
  0x200c: 'zero-width non-joiner',
  0x200d: 'zero-width joiner',
  0x2060: 'word joiner',
  0xfeff: 'byte order mark',
};

export function describeCodePoint(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  const name = NAMES[code] ?? (code < 0x20 || code === 0x7f ? 'control character' : undefined);
  return name ? `${hex} (${name})` : hex;
}

/** Reports each header-bound field with a character HTTP cannot carry; returns the fields reported. */
export function checkHeaderValues(raw: Record<string, unknown>, sink: IssueSink): Set<string> {
  const reported = new Set<string>();
  for (const [section, key] of HEADER_FIELDS) {
    const value = (raw[section] as Record<string, unknown> | undefined)?.[key];
    if (typeof value !== 'string') continue;
    const bad = firstBadHeaderCharacter(value);
    if (!bad) continue;
    const field = `${section}.${key}`;
    const edge = bad.position === 1 ? ' (at the start)' : bad.position === [...value].length ? ' (at the end)' : '';
    sink.error(
      field,
      `contains ${describeCodePoint(bad.codePoint)} at character ${bad.position} of ${[...value].length}${edge}; it cannot be sent in an HTTP header`,
      'retype or re-copy the value without it (invisible characters often come along when pasting from a web page or a chat)',
    );
    reported.add(field);
  }
  return reported;
}
