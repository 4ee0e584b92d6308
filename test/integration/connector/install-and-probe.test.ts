/**
 * Installing cloudflared from a local .deb over SFTP (the offline path) and probing origins
 * from the connector, against a real OpenSSH sshd; plus the in-process fallback server.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import { connectConnector } from '../../../src/connector/ssh-connector.js';
import { startSandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import type { SandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { buildStandinDeb } from '../../../src/sim/standin/build-deb.js';
import { PATHS, UNIT, deployRequest, hasSshd, sandboxSuite, tunnelFixture } from '../../support/sshd.js';

describe.skipIf(!hasSshd)('connector over a real sshd: install and probe', { timeout: 180_000 }, () => {
  // A host without cloudflared: it has to be installed.
  const suite = sandboxSuite({ server: 'openssh', cloudflared: false });
  const { connect } = suite;

  it('installs a local .deb over SFTP, skips the same pinned version, and upgrades to a newer pin', async () => {
    const host = await connect();
    expect((await host.readState([], UNIT)).cloudflaredVersion).toBeUndefined();

    const debs = join(suite.sandbox.dir, 'debs');
    const v1 = await buildStandinDeb(debs, '2026.8.1-standin');
    const v2 = await buildStandinDeb(debs, '2026.8.2-standin');

    expect(await host.installCloudflared({ type: 'deb', path: v1 })).toBe('2026.8.1-standin');
    const binary = join(suite.sandbox.root, 'usr/bin/cloudflared');
    expect((await stat(binary)).mode & 0o111).not.toBe(0);
    expect((await host.readState([], UNIT)).cloudflaredVersion).toBe('2026.8.1-standin');
    // The upload is removed after install.
    expect((await readdir(join(suite.sandbox.root, 'tmp'))).filter((n) => n.endsWith('.deb'))).toEqual([]);

    // Same version pinned: one exec, no upload.
    const before = host.roundTrips;
    expect(await host.installCloudflared({ type: 'deb', path: v1, version: '2026.8.1-standin' })).toBe('2026.8.1-standin');
    expect(host.roundTrips - before).toBe(1);

    expect(await host.installCloudflared({ type: 'deb', path: v2, version: '2026.8.2-standin' })).toBe('2026.8.2-standin');
    expect(await readFile(binary, 'utf8')).toContain('VERSION = "2026.8.2-standin"');

    // The installed binary runs the service (ExecStart /usr/bin/cloudflared maps into the sandbox).
    const t = tunnelFixture();
    expect(await host.deploy(deployRequest(t, t.config()))).toEqual({ restarted: true });
    expect((await host.readState([PATHS.config], UNIT)).unit).toEqual({ enabled: true, active: true });
  });

  it('reports a broken .deb with the host output', async () => {
    const host = await connect();
    const bogus = join(suite.sandbox.dir, 'not-a.deb');
    await import('node:fs/promises').then((fs) => fs.writeFile(bogus, 'this is not an ar archive'));
    const error = await host.installCloudflared({ type: 'deb', path: bogus }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/not a valid \.deb/);
    expect((error as Error).message).toMatch(/dpkg-deb/);
  });

  it('probes origins from the connector: a live HTTP server, a closed port, and a skipped scheme', async () => {
    const server = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    try {
      const host = await connect();
      const before = host.roundTrips;
      const results = await host.probe([
        { url: `http://127.0.0.1:${port}/` },
        { url: `tcp://127.0.0.1:${port}` },
        { url: `http://127.0.0.1:${closed}/` },
        { url: 'unix:/run/app.sock' },
      ]);
      expect(host.roundTrips - before).toBe(1);
      expect(results[0]).toMatchObject({ ok: true, detail: 'HTTP 204' });
      expect(results[1]).toMatchObject({ ok: true });
      expect(results[2]!.ok).toBe(false);
      expect(results[2]!.detail).not.toBe('');
      expect(results[3]).toMatchObject({ ok: true, detail: 'unix origins are not probed' });
    } finally {
      server.close();
    }
  });
});

describe('in-process ssh2 fallback server (no openssh-server needed)', { timeout: 120_000 }, () => {
  let sandbox: SandboxHost;
  beforeAll(async () => {
    sandbox = await startSandboxHost({ server: 'ssh2', cloudflared: false });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('serves readState, an SFTP .deb upload and a deploy', async () => {
    expect(sandbox.kind).toBe('ssh2-in-process');
    const host = await connectConnector(sandbox.target());
    try {
      const deb = await buildStandinDeb(join(sandbox.dir, 'debs'));
      expect(await host.installCloudflared({ type: 'deb', path: deb })).toBe('2026.8.2-standin');
      const t = tunnelFixture();
      expect(await host.deploy(deployRequest(t, t.config()))).toEqual({ restarted: true });
      const state = await host.readState([PATHS.config, PATHS.credentials(t.id)], UNIT);
      expect(state.unit).toEqual({ enabled: true, active: true });
      expect(state.files.get(PATHS.credentials(t.id))?.mode).toBe(0o600);
    } finally {
      await host.close();
    }
  });
});

describe.skipIf(!hasSshd)('connector over a real sshd: install from the apt repository', { timeout: 180_000 }, () => {
  let sandbox: SandboxHost;
  beforeAll(async () => {
    sandbox = await startSandboxHost({ server: 'openssh', cloudflared: false });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('configures the deb822 source + keyring, installs the pinned version, upgrades on a newer pin', async () => {
    const host = await connectConnector(sandbox.target());
    try {
      // No keyring yet: proxflare downloads it, which the sandbox's network guard refuses.
      const offline = await host.installCloudflared({ type: 'apt' }).catch((e: unknown) => e);
      expect(offline).toBeInstanceOf(ProviderError);
      expect((offline as Error).message).toMatch(/cannot download the Cloudflare apt key/);
      expect((offline as Error).message).toContain('refusing to connect to https://pkg.cloudflare.com/cloudflare-main.gpg');

      // Stand in for the downloaded key and the repository's contents.
      const fs = await import('node:fs/promises');
      await fs.mkdir(join(sandbox.root, 'etc/apt/keyrings'), { recursive: true });
      await fs.writeFile(join(sandbox.root, 'etc/apt/keyrings/cloudflared.gpg'), Buffer.from([0x99, 0x01, 0x0d]));
      const repo = join(sandbox.root, 'var/cache/proxflare-standin/apt-repo');
      await buildStandinDeb(repo, '2026.8.1-standin');
      await buildStandinDeb(repo, '2026.8.2-standin');

      expect(await host.installCloudflared({ type: 'apt', version: '2026.8.1-standin' })).toBe('2026.8.1-standin');
      expect(await readFile(join(sandbox.root, 'etc/apt/sources.list.d/cloudflared.sources'), 'utf8')).toBe(
        [
          'Types: deb',
          'URIs: https://pkg.cloudflare.com/cloudflared/',
          'Suites: any',
          'Components: main',
          'Signed-By: /etc/apt/keyrings/cloudflared.gpg',
          '',
        ].join('\n'),
      );
      // Unpinned and already installed: left alone.
      expect(await host.installCloudflared({ type: 'apt' })).toBe('2026.8.1-standin');
      // A newer pin upgrades.
      expect(await host.installCloudflared({ type: 'apt', version: '2026.8.2-standin' })).toBe('2026.8.2-standin');
      // A version the repository does not have is reported with apt's own words.
      const missing = await host.installCloudflared({ type: 'apt', version: '2030.1.0' }).catch((e: unknown) => e);
      expect((missing as Error).message).toContain("Version '2030.1.0' for 'cloudflared' was not found");
    } finally {
      await host.close();
    }
  });
});
