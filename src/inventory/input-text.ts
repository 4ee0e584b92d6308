/**
 * Guards for files that are not an inventory at all: a binary, a huge dump, the wrong file
 * given to --inventory. They get one clear message instead of thousands of YAML errors each
 * quoting a megabyte of garbage.
 */

/** An inventory of a thousand services is ~100 KB; anything past this is not one. */
export const MAX_INPUT_BYTES = 10 * 1024 * 1024;

/** Longest quoted value an error message repeats. */
export const EXCERPT_CHARS = 40;

export type TextResult = { ok: true; text: string } | { ok: false; message: string; hint: string; line: number; column: number };

export function decodeInputText(bytes: Uint8Array, what: string): TextResult {
  const hint = `give --inventory the path of your inventory.yaml (a UTF-8 YAML text file)`;
  if (bytes.length > MAX_INPUT_BYTES) {
    return {
      ok: false,
      message: `${what} is ${(bytes.length / 1024 / 1024).toFixed(1)} MB, too large to be an inventory (limit ${MAX_INPUT_BYTES / 1024 / 1024} MB)`,
      hint,
      line: 1,
      column: 1,
    };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    return { ok: false, message: `${what} is not a text file (a NUL byte at offset ${nul})`, hint, ...lineColumn(bytes, nul) };
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const at = firstInvalidUtf8(bytes);
    return {
      ok: false,
      message: `${what} is not valid UTF-8 (byte 0x${bytes[at]!.toString(16).padStart(2, '0')} at offset ${at})`,
      hint: 'save the file as UTF-8 (most editors: "Save with encoding"), or point --inventory at the right file',
      ...lineColumn(bytes, at),
    };
  }
}

function lineColumn(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    for (let k = 1; k < length; k++) if (i + k >= bytes.length || (bytes[i + k]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return 0;
}

/** Cuts every quoted value (and any very long word) in a message to a short excerpt. */
export function shortenQuoted(message: string): string {
  return message
    .replace(/"((?:[^"\\]|\\.)*)"/g, (whole, inner: string) => (inner.length > EXCERPT_CHARS ? `"${cut(inner)}"` : whole))
    .replace(/\S{120,}/g, (word) => cut(word));
}

function cut(text: string): string {
  return `${text.slice(0, EXCERPT_CHARS)}… (${text.length} characters)`;
}
