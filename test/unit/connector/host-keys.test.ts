import { generateEd25519Key } from '../../../src/sim/ssh/generate-key.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  checkHostKey,
  findEntries,
  fingerprint,
  hostPattern,
  keyType,
  preferredHostKeyAlgorithms,
} from '../../../src/connector/host-keys.js';

const blobOf = (pub: string) => Buffer.from(pub.split(' ')[1]!, 'base64');

describe('host key pinning', () => {
  let dir: string;
  const a = blobOf(generateEd25519Key().public);
  const b = blobOf(generateEd25519Key().public);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxflare-kh-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses OpenSSH host patterns and fingerprints', () => {
    expect(hostPattern('10.0.0.9', 22)).toBe('10.0.0.9');
    expect(hostPattern('10.0.0.9', 2222)).toBe('[10.0.0.9]:2222');
    expect(keyType(a)).toBe('ssh-ed25519');
    expect(fingerprint(a)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('finds plain, comma-listed and skips other hosts, comments and markers', () => {
    const text = [
      '# comment',
      `10.0.0.9,cloudflared.lan ssh-ed25519 ${a.toString('base64')}`,
      `[10.0.0.9]:2222 ssh-ed25519 ${b.toString('base64')}`,
      `@cert-authority * ssh-ed25519 ${b.toString('base64')}`,
      '',
    ].join('\n');
    expect(findEntries(text, '10.0.0.9', 22).map((e) => e.key)).toEqual([a]);
    expect(findEntries(text, 'cloudflared.lan', 22).map((e) => e.key)).toEqual([a]);
    expect(findEntries(text, '10.0.0.9', 2222).map((e) => e.key)).toEqual([b]);
    expect(findEntries(text, '10.0.0.10', 22)).toEqual([]);
  });

  it('accepts the pinned key, refuses unknown and changed keys, records on TOFU', async () => {
    const file = join(dir, 'known_hosts');
    const unknown = checkHostKey({ file, host: '10.0.0.9', port: 22, key: a, trustOnFirstUse: false });
    expect(unknown).toMatchObject({ ok: false, reason: 'unknown' });
    const tofu = checkHostKey({ file, host: '10.0.0.9', port: 22, key: a, trustOnFirstUse: true });
    expect(tofu).toEqual({ ok: true, recorded: true });
    expect(await readFile(file, 'utf8')).toBe(`10.0.0.9 ssh-ed25519 ${a.toString('base64')}\n`);
    expect(checkHostKey({ file, host: '10.0.0.9', port: 22, key: a, trustOnFirstUse: false })).toEqual({ ok: true, recorded: false });
    const changed = checkHostKey({ file, host: '10.0.0.9', port: 22, key: b, trustOnFirstUse: true });
    expect(changed).toMatchObject({ ok: false, reason: 'changed' });
    if (!changed.ok) expect(changed.message).toMatch(/^HOST KEY CHANGED for 10\.0\.0\.9/);
    // TOFU never overwrites a pinned key.
    expect(await readFile(file, 'utf8')).not.toContain(b.toString('base64'));
  });

  it('appends on a new line even when the file does not end with one', async () => {
    const file = join(dir, 'kh-noeol');
    await writeFile(file, `other ssh-ed25519 ${b.toString('base64')}`);
    checkHostKey({ file, host: 'h', port: 2200, key: a, trustOnFirstUse: true });
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(3);
    expect(findEntries(await readFile(file, 'utf8'), 'h', 2200)).toHaveLength(1);
  });

  it('asks the server for the pinned key type first', () => {
    const rsa = [{ type: 'ssh-rsa', key: a }];
    expect(preferredHostKeyAlgorithms(rsa, DEFAULT_HOST_KEY_ALGORITHMS).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms([], DEFAULT_HOST_KEY_ALGORITHMS)).toEqual(DEFAULT_HOST_KEY_ALGORITHMS);
  });
});
