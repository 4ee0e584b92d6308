/**
 * The connector adapter against a real OpenSSH sshd on 127.0.0.1, with managed paths in a
 * sandbox directory: state reads, atomic deploys, validation and restart rollbacks.
 */
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/core/errors.js';
import {
  PATHS,
  UNIT,
  UNIT_TEXT,
  deployRequest,
  hasSshd,
  startCuttingRelay,
  tunnelFixture,
  unitRecord,
  untilTrue,
  sandboxSuite,
} from '../../support/sshd.js';

// Generous timeouts: every exec starts the user's login shell, which can be slow on busy dev machines.
describe.skipIf(!hasSshd)('connector over a real sshd: state and deploy', { timeout: 180_000 }, () => {
  const suite = sandboxSuite({ server: 'openssh' });
  const { connect, inSandbox } = suite;

  it('runs a real OpenSSH sshd', () => {
    expect(suite.sandbox.kind).toBe('openssh');
  });

  // Issue 13 classes 7 and 8: what the state script sends back about secrets and staging files.
  it('reports the credentials by digest and TunnelID only, and lists stale staging files (not live ones, not foreign names)', async () => {
    const secret = randomBytes(32).toString('base64');
    const content = JSON.stringify({
      AccountTag: 'a',
      TunnelSecret: secret,
      TunnelID: '6f1c6b0e-1111-4a2b-9c3d-000000000001',
      Endpoint: '',
    });
    const creds = '/etc/cloudflared/credentials.json';
    await mkdir(dirname(inSandbox(creds)), { recursive: true });
    await writeFile(inSandbox(creds), content, { mode: 0o600 });
    const dead = '/etc/cloudflared/.credentials.json.proxflare-tmp.999999999';
    const live = `/etc/cloudflared/.config.yml.proxflare-tmp.${process.pid}`;
    for (const p of [dead, live, '/etc/cloudflared/.other.proxflare-tmp.5', '/etc/cloudflared/.config.yml.proxflare-tmp.x'])
      await writeFile(inSandbox(p), secret);
    const host = await connect();
    const state = await host.readState([PATHS.config], UNIT, { secretPaths: [creds] });
    expect(state.files.has(creds)).toBe(false);
    const { createHash } = await import('node:crypto');
    expect(state.secretFiles!.get(creds)).toEqual({
      sha256: createHash('sha256').update(content).digest('hex'),
      mode: 0o600,
      owner: expect.any(String),
      tunnelId: '6f1c6b0e-1111-4a2b-9c3d-000000000001',
    });
    expect(JSON.stringify([...state.secretFiles!.values()])).not.toContain(secret);
    expect(state.staging).toEqual([dead]);

    expect(await host.removeStaging([dead, live])).toEqual([live]);
    expect(await readFile(inSandbox(live), 'utf8')).toBe(secret);
    await expect(stat(inSandbox(dead))).rejects.toThrow();
    // The sandbox is shared with the next tests.
    await rm(inSandbox('/etc/cloudflared'), { recursive: true, force: true });
  });

  it('reads an empty host in exactly one round trip', async () => {
    const host = await connect();
    const t = tunnelFixture();
    const state = await host.readState([PATHS.config, PATHS.credentials(t.id), PATHS.unit], UNIT);
    expect(host.roundTrips).toBe(1);
    expect(state.files.size).toBe(0);
    expect(state.unit).toEqual({ enabled: false, active: false });
    expect(state.cloudflaredVersion).toBe('2026.8.2-standin');
  });

  it('deploys files with the right bytes and modes, starts the unit, keeps .bak, and skips restarts when asked', async () => {
    const t = tunnelFixture();
    const host = await connect();
    const first = await host.deploy(deployRequest(t, t.config()));
    expect(first).toEqual({ restarted: true });

    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(t.config());
    expect(await readFile(inSandbox(PATHS.credentials(t.id)), 'utf8')).toBe(t.credentials);
    expect((await stat(inSandbox(PATHS.credentials(t.id)))).mode & 0o777).toBe(0o600);
    expect((await stat(inSandbox(PATHS.config))).mode & 0o777).toBe(0o644);
    expect((await stat(inSandbox('/etc/cloudflared'))).mode & 0o777).toBe(0o755);
    expect((await stat(inSandbox(PATHS.credentials(t.id)))).uid).toBe(process.getuid!() === 0 ? 0 : process.getuid!());

    const before = host.roundTrips;
    const state = await host.readState([PATHS.config, PATHS.credentials(t.id), PATHS.unit], UNIT);
    expect(host.roundTrips - before).toBe(1);
    expect(state.unit).toEqual({ enabled: true, active: true });
    expect(state.files.get(PATHS.credentials(t.id))).toEqual({ content: t.credentials, mode: 0o600, owner: 'root' });
    expect(state.files.get(PATHS.config)?.content).toBe(t.config());
    const started = await unitRecord(suite.sandbox.root);
    expect(started.starts).toBeGreaterThanOrEqual(1);

    // Nothing changed: the plan asks for no restart, and the running service is left alone.
    const again = await host.deploy(deployRequest(t, t.config(), { restart: false, reloadUnits: false }));
    expect(again).toEqual({ restarted: false });
    expect(await unitRecord(suite.sandbox.root)).toEqual(started);

    // A config change restarts it and keeps the previous version as .bak.
    const changed = t.config([['media.example.com', 'http://192.168.1.11:8096']]);
    expect(await host.deploy(deployRequest(t, changed, { reloadUnits: false }))).toEqual({ restarted: true });
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(changed);
    expect(await readFile(inSandbox(`${PATHS.config}.proxflare.bak`), 'utf8')).toBe(t.config());
    const restarted = await unitRecord(suite.sandbox.root);
    expect(restarted.starts).toBe(started.starts + 1);
    expect(restarted.activeEnter).not.toBe(started.activeEnter);
    // No temporary files are left next to the targets.
    expect((await readdir(inSandbox('/etc/cloudflared'))).filter((n) => n.includes('proxflare-tmp'))).toEqual([]);
  });

  it('refuses a config cloudflared rejects: old files stay, the service keeps running, the error has the host output', async () => {
    const t = tunnelFixture();
    const host = await connect();
    await host.deploy(deployRequest(t, t.config()));
    const startsBefore = (await unitRecord(suite.sandbox.root)).starts;
    // A rule after the catch-all is what cloudflared refuses.
    const broken = `${t.config()}  - hostname: late.example.com\n    service: http://192.168.1.12:80\n`;
    const error = await host.deploy(deployRequest(t, broken)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const message = (error as ProviderError).message;
    expect(message).toMatch(/Validation failed/);
    expect(message).toMatch(/rejected the new configuration/);
    expect(message).not.toContain(JSON.parse(t.credentials).TunnelSecret);
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(t.config());
    const state = await host.readState([PATHS.config], UNIT);
    expect(state.unit.active).toBe(true);
    expect((await unitRecord(suite.sandbox.root)).starts).toBe(startsBefore);
    expect((await readdir(inSandbox('/etc/cloudflared'))).filter((n) => n.includes('proxflare-tmp'))).toEqual([]);
  });

  it('rolls back when the service will not start with the new files, and restarts the old config', async () => {
    const t = tunnelFixture();
    const host = await connect();
    await host.deploy(deployRequest(t, t.config()));
    const startsBefore = (await unitRecord(suite.sandbox.root)).starts;
    // Valid ingress, but the credentials belong to another tunnel: `tunnel run` exits at once.
    const other = tunnelFixture();
    const wrongTunnel = t.config().replace(`tunnel: ${t.id}`, `tunnel: ${other.id}`);
    const error = await host.deploy(deployRequest(t, wrongTunnel)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    const message = (error as ProviderError).message;
    expect(message).toMatch(/did not start with the new configuration/);
    expect(message).toMatch(/belongs to tunnel/);
    expect(message).toMatch(/runs the old configuration again/);
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(t.config());
    const state = await host.readState([PATHS.config], UNIT);
    expect(state.unit.active).toBe(true);
    // One failed start with the new files, one successful start of the old ones.
    expect((await unitRecord(suite.sandbox.root)).starts).toBe(startsBefore + 1);
  });

  it('treats a Type=notify start timeout as not connected, restores the old unit and says why', async () => {
    const t = tunnelFixture();
    const host = await connect();
    await host.deploy(deployRequest(t, t.config()));
    const silent = UNIT_TEXT.replace('TimeoutStartSec=15', 'TimeoutStartSec=1').replace(/^ExecStart=.*$/m, 'ExecStart=/bin/sleep 30');
    const request = deployRequest(t, t.config());
    request.files = request.files.map((f) => (f.path === PATHS.unit ? { ...f, content: silent } : f));
    const error = await host.deploy(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as Error).message).toMatch(/did not report ready within its TimeoutStartSec/);
    expect((error as Error).message).toMatch(/a timeout was exceeded/);
    expect(await readFile(inSandbox(PATHS.unit), 'utf8')).toBe(UNIT_TEXT);
    expect((await host.readState([PATHS.unit], UNIT)).unit.active).toBe(true);
  });

  it('leaves the old file whole when the connection dies mid-upload', async () => {
    const t = tunnelFixture();
    const direct = await connect();
    await direct.deploy(deployRequest(t, t.config(), { restart: false, reloadUnits: false }));
    const bigPath = '/etc/cloudflared/big.bin';
    const old = randomBytes(64 * 1024).toString('base64');
    await mkdir(dirname(inSandbox(bigPath)), { recursive: true });
    await writeFile(inSandbox(bigPath), old);

    const relay = await startCuttingRelay(suite.sandbox.port);
    try {
      const known = join(suite.sandbox.dir, 'known_hosts_relay');
      await writeFile(known, `[127.0.0.1]:${relay.port} ${suite.sandbox.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
      const host = await connect({ port: relay.port, knownHosts: known });
      await host.readState([bigPath], UNIT);
      const cut = relay.cutAfter(2 * 1024 * 1024);
      const huge = randomBytes(6 * 1024 * 1024).toString('base64');
      const attempt = host
        .deploy({ files: [{ path: bigPath, content: huge, mode: 0o644 }], unit: UNIT, restart: false, reloadUnits: false })
        .catch((e: unknown) => e);
      await cut;
      const error = await attempt;
      expect(error).toBeInstanceOf(ProviderError);
    } finally {
      await relay.close();
    }
    // Let sshd notice and the remote shell finish whatever it was doing.
    await new Promise((r) => setTimeout(r, 500));
    expect(await readFile(inSandbox(bigPath), 'utf8')).toBe(old);
    const names = await readdir(inSandbox('/etc/cloudflared'));
    expect(names.filter((n) => n.includes('proxflare-tmp'))).toEqual([]);
    const state = await (await connect()).readState([bigPath], UNIT);
    expect(state.files.get(bigPath)?.content).toBe(old);
  });

  // Issue 13 class 7: "finish or undo the current remote step". A client that goes away (a second
  // Ctrl-C, a dropped link) used to kill the deploy at its next output line (SIGPIPE), after the
  // swap and before the restart: new files on disk, the old config still served, and nothing in
  // the next plan to say so.
  it('a client that goes away in the middle of a deploy: the host still finishes it, swap and restart', async () => {
    const t = tunnelFixture();
    await (await connect()).deploy(deployRequest(t, t.config()));
    const before = await unitRecord(suite.sandbox.root);
    const hooks = inSandbox('/etc/proxflare-standin');
    await mkdir(hooks, { recursive: true });
    await writeFile(join(hooks, 'block-validate'), '');
    const relay = await startCuttingRelay(suite.sandbox.port);
    const next = t.config([['new.example.com', 'http://192.168.1.11:80']]);
    try {
      const known = join(suite.sandbox.dir, 'known_hosts_relay');
      await writeFile(known, `[127.0.0.1]:${relay.port} ${suite.sandbox.hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
      const host = await connect({ port: relay.port, knownHosts: known });
      const validating = untilTrue(hooks, async () => (await stat(join(hooks, 'validating')).catch(() => undefined)) !== undefined);
      const attempt = host.deploy(deployRequest(t, next)).catch((e: unknown) => e);
      await validating;
      await relay.close();
      expect(await attempt).toBeInstanceOf(ProviderError);
    } finally {
      await relay.close();
    }
    const started = join(suite.sandbox.root, 'var/lib/proxflare-standin/systemd', UNIT);
    const restarted = untilTrue(started, async () => (await unitRecord(suite.sandbox.root)).starts > before.starts);
    await rm(join(hooks, 'block-validate'));
    await restarted;
    expect(await readFile(inSandbox(PATHS.config), 'utf8')).toBe(next);
    expect((await readdir(inSandbox('/etc/cloudflared'))).filter((n) => n.includes('proxflare-tmp'))).toEqual([]);
    await rm(hooks, { recursive: true, force: true });
  });

  it('reads through a jump host (forwardOut) as well', async () => {
    const host = await connect({ jump: { host: '127.0.0.1', port: suite.sandbox.port, user: suite.sandbox.user } });
    const state = await host.readState([PATHS.config], UNIT);
    expect(state.cloudflaredVersion).toBe('2026.8.2-standin');
    expect(host.roundTrips).toBe(1);
  });
});
