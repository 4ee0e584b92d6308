/**
 * known_hosts-style host key pinning for the connector (and the jump host).
 * Entries use OpenSSH syntax — `host` for port 22, `[host]:port` otherwise, plain or
 * hashed (`|1|salt|hash`) — so an operator can copy lines from ~/.ssh/known_hosts.
 */
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  type: string;
  /** The key blob (base64 in the file). */
  key: Buffer;
}

export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH's fingerprint format: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name inside an SSH public key blob (first length-prefixed string). */
export function keyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

function hostMatches(field: string, pattern: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(pattern).digest('base64');
    return digest === hash;
  }
  return field.split(',').some((h) => h === pattern);
}

export function readKnownHosts(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** Entries for `host:port` (markers like @revoked/@cert-authority are not supported and skipped). */
export function findEntries(text: string, host: string, port: number): KnownHostEntry[] {
  const pattern = hostPattern(host, port);
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@')) continue;
    const [hosts, type, key] = line.split(/\s+/);
    if (!hosts || !type || !key || !hostMatches(hosts, pattern)) continue;
    entries.push({ type, key: Buffer.from(key, 'base64') });
  }
  return entries;
}

export function knownHostsLine(host: string, port: number, key: Buffer): string {
  return `${hostPattern(host, port)} ${keyType(key)} ${key.toString('base64')}`;
}

export function recordHostKey(file: string, host: string, port: number, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const existing = readKnownHosts(file);
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${sep}${knownHostsLine(host, port, key)}\n`, { mode: 0o600 });
}

export type HostKeyVerdict = { ok: true; recorded: boolean } | { ok: false; reason: 'unknown' | 'changed'; message: string };

/** Decide about a presented key; records it when unknown and `trustOnFirstUse`. */
export function checkHostKey(options: {
  file: string;
  host: string;
  port: number;
  key: Buffer;
  trustOnFirstUse: boolean;
  /** Which setting enables TOFU, for the message. */
  tofuSetting?: string;
}): HostKeyVerdict {
  const { file, host, port, key } = options;
  const entries = findEntries(readKnownHosts(file), host, port);
  const fp = fingerprint(key);
  const target = hostPattern(host, port);
  if (entries.some((e) => e.key.equals(key))) return { ok: true, recorded: false };
  if (entries.length > 0) {
    const pinned = entries.map((e) => `${e.type} ${fingerprint(e.key)}`).join(', ');
    return {
      ok: false,
      reason: 'changed',
      message:
        `HOST KEY CHANGED for ${target}: it now presents ${keyType(key)} ${fp}, but ${file} pins ${pinned}. ` +
        'Someone may be intercepting the connection, or the host was rebuilt. ' +
        `If you rebuilt it on purpose, check the new fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_${keyType(key).replace(/^ssh-/, '')}_key.pub), ` +
        `then delete the old line for ${target} from ${file} and run again.`,
    };
  }
  if (options.trustOnFirstUse) {
    recordHostKey(file, host, port, key);
    return { ok: true, recorded: true };
  }
  return {
    ok: false,
    reason: 'unknown',
    message:
      `unknown host key for ${target}: ${keyType(key)} ${fp}. ` +
      `Check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then either add this line to ${file}:\n` +
      `    ${knownHostsLine(host, port, key)}\n` +
      `  or allow recording it on first use (${options.tofuSetting ?? 'connector.ssh.trustOnFirstUse: true'}).`,
  };
}

/** Known key types first, so the server presents the key we have pinned. */
export function preferredHostKeyAlgorithms(entries: KnownHostEntry[], defaults: string[]): string[] {
  // An RSA key blob says ssh-rsa, but it is negotiated as rsa-sha2-*.
  const algos = entries.flatMap((e) => (e.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [e.type]));
  const known = [...new Set(algos)].filter((t) => defaults.includes(t));
  return [...known, ...defaults.filter((d) => !known.includes(d))];
}

export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];
