/**
 * The connector lock and a deploy that outlived its run, against a real OpenSSH sshd: a run that
 * goes away mid-deploy (a second Ctrl-C) loses its SSH connection and with it the tunnel lock,
 * but its deploy goes on on the connector; the next run must not deploy beside it.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import {
  PATHS,
  deployRequest,
  hasSshd,
  startCuttingRelay,
  tunnelFixture,
  unitRecord,
  untilTrue,
  sandboxSuite,
} from '../../support/sshd.js';

describe.skipIf(!hasSshd)('connector over a real sshd: a deploy that outlived its run', { timeout: 180_000 }, () => {
  const suite = sandboxSuite({ server: 'openssh' });
  const { connect, inSandbox } = suite;
  const me = `${userInfo().username}@${hostname()} pid ${process.pid}`;

  it('lock, then a deploy of the same run: the deploy does not wait on its own lock', async () => {
    const t = tunnelFixture();
    const host = await connect();
    const release = await host.lock('tunnel-homelab', 1_000);
    expect(await host.deploy(deployRequest(t, t.config()))).toEqual({ restarted: true });
    expect(await readFile(inSandbox('/run/lock/proxflare-deploy.lock'), 'utf8')).toContain(`${me}, deploy started `);
    await release();
    // Nothing the deploy started (the restarted unit) kept the deploy lock.
    await (
      await host.lock('tunnel-homelab', 5_000)
    )();
  });

  it('the next run waits for the orphaned deploy, says so when it runs out of time, and gets the lock once it finished', async () => {
    const t = tunnelFixture();
    await (await connect()).deploy(deployRequest(t, t.config()));
    const before = await unitRecord(suite.sandbox.root);
    const hooks = inSandbox('/etc/proxflare-standin');
    await mkdir(hooks, { recursive: true });
    await writeFile(join(hooks, 'block-validate'), '');
    const lockDir = inSandbox('/run/lock');
    const tunnelLock = join(lockDir, 'proxflare-tunnel-homelab.lock');
    const next = t.config([['new.example.com', 'http://192.168.1.11:80']]);

    // Run A: takes the lock, starts a deploy held in validation, then dies with its connection.
    const relay = await startCuttingRelay(suite.sandbox.port);
    try {
      const known = join(suite.sandbox.dir, 'known_hosts_relay');
      await writeFile(known, `[127.0.0.1]:${relay.port} ${suite.sandbox.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
      const a = await connect({ port: relay.port, knownHosts: known });
      await a.lock('tunnel-homelab', 1_000);
      const validating = untilTrue(hooks, async () => (await stat(join(hooks, 'validating')).catch(() => undefined)) !== undefined);
      const attempt = a.deploy(deployRequest(t, next)).catch((e: unknown) => e);
      await validating;
      await relay.close();
      expect(await attempt).toBeInstanceOf(ProviderError);
    } finally {
      await relay.close();
    }
    // A's lock shell saw its stdin close: it clears the tunnel lock file as it lets go.
    await untilTrue(lockDir, async () => (await readFile(tunnelLock, 'utf8').catch(() => 'absent')) === '');

    // Run B. A deploy without the lock is refused at once and changes nothing.
    const b = await connect();
    const refused = await b.deploy(deployRequest(t, t.config([['other.example.com', 'http://192.168.1.12:80']]))).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderError);
    expect((refused as Error).message).toContain('another deploy is still running on this host');
    expect((refused as Error).message).toContain(`${me}, deploy started `);
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(t.config());

    // The lock: the tunnel part is free, the orphan outlasts the budget.
    const busy = await b.lock('tunnel-homelab', 1_000).catch((e: unknown) => e);
    expect(busy).toBeInstanceOf(ProviderError);
    const message = (busy as Error).message;
    expect(message).toContain('a deploy from an earlier run is still finishing on the connector');
    expect(message).toContain(`${me}, deploy started `);
    expect(message).not.toContain(JSON.parse(t.credentials).TunnelSecret);
    expect(await readFile(tunnelLock, 'utf8')).toBe('');

    // Let the orphan go on: B's lock waits for it to swap, restart and exit.
    await rm(join(hooks, 'block-validate'));
    const release = await b.lock('tunnel-homelab', 60_000);
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(next);
    expect((await unitRecord(suite.sandbox.root)).starts).toBeGreaterThan(before.starts);
    expect(await b.deploy(deployRequest(t, t.config()))).toEqual({ restarted: true });
    await release();
    await rm(hooks, { recursive: true, force: true });
  });
});
