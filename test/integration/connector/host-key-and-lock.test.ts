/**
 * Host key pinning and the connector lock, against a real OpenSSH sshd on 127.0.0.1.
 */
import { generateEd25519Key } from '../../../src/sim/ssh/generate-key.js';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import { fingerprint } from '../../../src/connector/host-keys.js';
import { hasSshd, sandboxSuite } from '../../support/sshd.js';

describe.skipIf(!hasSshd)('connector over a real sshd: host keys and lock', { timeout: 120_000 }, () => {
  const suite = sandboxSuite({ server: 'openssh', pinHostKey: false });
  const { connect } = suite;
  const hostKeyBlob = () => Buffer.from(suite.sandbox.hostPublicKey.split(' ')[1]!, 'base64');

  it('refuses an unknown host key, showing its fingerprint and how to trust it', async () => {
    const knownHosts = join(suite.sandbox.dir, 'kh-unknown');
    const error = await connect({ knownHosts }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const message = (error as Error).message;
    expect(message).toContain('unknown host key');
    expect(message).toContain(fingerprint(hostKeyBlob()));
    expect(message).toContain('trustOnFirstUse');
    expect(message).toContain(`[127.0.0.1]:${suite.sandbox.port} ssh-ed25519`);
    await expect(readFile(knownHosts, 'utf8')).rejects.toThrow();
  });

  it('records the key on first use when allowed, then accepts it without TOFU', async () => {
    const knownHosts = join(suite.sandbox.dir, 'kh-tofu');
    const first = await connect({ knownHosts, trustOnFirstUse: true });
    await first.readState([], 'cloudflared.service');
    const recorded = await readFile(knownHosts, 'utf8');
    expect(recorded.trim()).toBe(`[127.0.0.1]:${suite.sandbox.port} ssh-ed25519 ${hostKeyBlob().toString('base64')}`);
    const second = await connect({ knownHosts, trustOnFirstUse: false });
    await second.readState([], 'cloudflared.service');
    expect(await readFile(knownHosts, 'utf8')).toBe(recorded);
  });

  it('stops with HOST KEY CHANGED when the pinned key differs, even with TOFU on', async () => {
    const knownHosts = join(suite.sandbox.dir, 'kh-changed');
    const other = generateEd25519Key();
    await writeFile(knownHosts, `# pinned earlier\n[127.0.0.1]:${suite.sandbox.port} ${other.public.split(' ').slice(0, 2).join(' ')}\n`);
    const error = await connect({ knownHosts, trustOnFirstUse: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const message = (error as Error).message;
    expect(message).toContain('HOST KEY CHANGED');
    expect(message).toContain(fingerprint(hostKeyBlob()));
    expect(message).toContain(knownHosts);
    // The file is not touched.
    expect(await readFile(knownHosts, 'utf8')).toContain(other.public.split(' ')[1]!);
    expect(await readFile(knownHosts, 'utf8')).not.toContain(hostKeyBlob().toString('base64'));
  });

  it('accepts hashed known_hosts entries (ssh-keygen -H style)', async () => {
    const { createHmac, randomBytes } = await import('node:crypto');
    const salt = randomBytes(20);
    const hash = createHmac('sha1', salt).update(`[127.0.0.1]:${suite.sandbox.port}`).digest('base64');
    const knownHosts = join(suite.sandbox.dir, 'kh-hashed');
    await writeFile(knownHosts, `|1|${salt.toString('base64')}|${hash} ssh-ed25519 ${hostKeyBlob().toString('base64')}\n`);
    const host = await connect({ knownHosts });
    expect((await host.readState([], 'cloudflared.service')).unit.active).toBe(false);
  });

  it('lock: a second holder waits, then fails naming the first holder; it gets the lock once released', async () => {
    const knownHosts = join(suite.sandbox.dir, 'kh-lock');
    const a = await connect({ knownHosts, trustOnFirstUse: true });
    const b = await connect({ knownHosts });
    const release = await a.lock('tunnel-homelab', 1_000);
    const lockFile = join(suite.sandbox.root, 'run/lock/proxflare-tunnel-homelab.lock');
    expect(await readFile(lockFile, 'utf8')).toContain(`${userInfo().username}@${hostname()} pid ${process.pid}`);

    const started = Date.now();
    const error = await b.lock('tunnel-homelab', 1_500).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(error).toBeInstanceOf(ProviderError);
    const message = (error as Error).message;
    expect(message).toContain('another proxflare run holds it');
    expect(message).toContain(`${userInfo().username}@${hostname()} pid ${process.pid} since `);

    await release();
    const releaseB = await b.lock('tunnel-homelab', 5_000);
    await releaseB();
  });

  it('lock: closing the connection releases the lock', async () => {
    const knownHosts = join(suite.sandbox.dir, 'kh-lock');
    const a = await connect({ knownHosts, trustOnFirstUse: true });
    await a.lock('drop', 1_000);
    await a.close();
    const b = await connect({ knownHosts });
    const release = await b.lock('drop', 10_000);
    await release();
  });
});
