/** Quoting for the POSIX sh scripts we send to the connector. */

/** Single-quote a word for sh; safe for any byte except NUL. */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell word cannot contain NUL');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A managed path, rooted at `$R` (the sandbox root, empty in production) so the
 * same script serves a real host and a sandbox directory.
 */
export function rooted(path: string): string {
  return `"$R"${shQuote(path)}`;
}

/** Paths we put in scripts and in tagged output lines must be absolute and single-line. */
export function assertManagedPath(path: string): void {
  if (!path.startsWith('/') || /[\n\r\0]/.test(path)) {
    throw new TypeError(`managed path must be absolute and on one line: ${JSON.stringify(path)}`);
  }
}

/** base64 wrapped at 76 columns: heredoc lines stay short, and the alphabet never contains our delimiters. */
export function base64Lines(content: string | Buffer): string {
  const b64 = Buffer.from(content).toString('base64');
  return b64.replace(/(.{76})/g, '$1\n').replace(/\n$/, '');
}
