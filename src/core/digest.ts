import { createHash } from 'node:crypto';

/** sha256 of a text (UTF-8), hex: how secret files are compared without being shown. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
