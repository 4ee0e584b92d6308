/**
 * A real Debian 12 container with systemd, created through the Proxmox simulator's real LXC
 * backend, reached over SSH with the injected key and a pinned host key. The stand-in
 * cloudflared .deb is installed with dpkg and run as the Type=notify unit proxflare renders.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createE2eEnvironment, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend, type RealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { linkExists } from '../../src/sim/lxc/network.js';
import { buildStandinDeb, STANDIN_VERSION } from '../../src/sim/standin/build-deb.js';
import { CONFIG_PATH, cloudflaredUnit, configYaml, credentialsJson, credentialsPath, newTunnel } from './support/cloudflared-files.js';
import { containerGate } from './support/prerequisites.js';
import { connectorContainer, showCloudflared } from './support/connector-container.js';
import { connectSsh, generateKeyPair, type SshSession } from './support/ssh.js';

const gate = await containerGate('e2e: cloudflared service in a real container');
const VMID = 9101;
const TAG = 'svc';

describe.skipIf(gate.skip)('cloudflared as a systemd service in a real Debian container', () => {
  const key = generateKeyPair();
  const tunnel = newTunnel();
  const work = mkdtempSync(join(tmpdir(), 'pf-e2e-svc-'));
  let environment: E2eEnvironment | undefined;
  let backend: RealLxcBackend;
  let ssh: SshSession | undefined;
  let ipv4: string;
  const timings: string[] = [];

  const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await step();
    } finally {
      timings.push(`${label} ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }
  };

  const show = (...properties: string[]) => showCloudflared(ssh as SshSession, ...properties);

  beforeAll(async () => {
    environment = await timed('rootfs+bridge', () => createE2eEnvironment({ tag: TAG, subnet: '10.231.1' }));
    backend = createRealLxcBackend({ environment });
    await timed('create', () => backend.create(connectorContainer(VMID, key.publicKey)));
    const started = await timed('boot', () => backend.start(VMID));
    ipv4 = started.ipv4 as string;
    const container = backend.container(VMID);
    ssh = await connectSsh({ host: ipv4, privateKey: key.privateKey, hostKeys: container?.hostKeys ?? [] });
  }, 20 * 60_000);

  afterAll(async () => {
    ssh?.close();
    try {
      await environment?.cleanup();
    } finally {
      rmSync(work, { recursive: true, force: true });
      process.stderr.write(`e2e svc timings: ${timings.join(', ')}\n`);
    }
    if (environment) {
      // Nothing this test made may outlive it.
      expect(await linkExists(environment.bridge.name)).toBe(false);
      const left = existsSync(environment.lxcPath)
        ? readdirSync(environment.lxcPath).filter((n) => n.startsWith(environment?.prefix ?? '?'))
        : [];
      expect(left).toEqual([]);
    }
  }, 120_000);

  it('boots systemd, with the injected key, on the test bridge only', async () => {
    const session = ssh as SshSession;
    expect(ipv4).toMatch(/^10\.231\.1\.\d+$/);
    expect((await session.check('hostname')).trim()).toBe('cloudflared');
    expect((await session.check('systemctl is-system-running')).trim()).toBe('running');
    expect((await session.check('readlink /proc/1/exe')).trim()).toBe('/usr/lib/systemd/systemd');
    // No default route: the container can reach the bridge and nothing else.
    expect((await session.check('ip -4 route show default')).trim()).toBe('');
    expect(await session.check(`ip -4 -o addr show dev eth0`)).toContain(`inet ${ipv4}/24`);
  });

  it('installs the stand-in .deb with dpkg', async () => {
    const session = ssh as SshSession;
    const deb = await buildStandinDeb(work);
    await session.upload(deb, '/tmp/cloudflared.deb');
    await session.check('dpkg -i /tmp/cloudflared.deb');
    expect((await session.check("dpkg-query -W -f='${Status} ${Version}' cloudflared")).trim()).toBe(
      `install ok installed ${STANDIN_VERSION}`,
    );
    expect((await session.check('cloudflared --version')).trim()).toBe(
      `cloudflared version ${STANDIN_VERSION} (proxflare test stand-in, not the real cloudflared)`,
    );
  });

  it('runs as a Type=notify unit: enabled, active (not activating), READY=1 received', async () => {
    const session = ssh as SshSession;
    await session.check('install -d -m 0755 /etc/cloudflared');
    await session.writeFile(CONFIG_PATH, configYaml(tunnel, [{ hostname: 'media.example.com', service: 'http://10.231.1.1:8096' }]), 0o644);
    await session.writeFile(credentialsPath(tunnel), credentialsJson(tunnel), 0o400);
    await session.writeFile('/etc/systemd/system/cloudflared.service', cloudflaredUnit(), 0o644);
    await session.check('systemctl daemon-reload && systemctl enable --now cloudflared');

    expect((await session.exec('systemctl is-active cloudflared')).stdout.trim()).toBe('active');
    expect((await session.exec('systemctl is-enabled cloudflared')).stdout.trim()).toBe('enabled');
    const state = await show('Type', 'ActiveState', 'SubState', 'StatusText', 'NRestarts', 'ExecMainStatus');
    expect(state).toMatchObject({ Type: 'notify', ActiveState: 'active', SubState: 'running', NRestarts: '0' });
    // StatusText is only set from the sd_notify message, so this proves it reached systemd.
    expect(state.StatusText).toBe(`stand-in serving tunnel ${tunnel.tunnelId} (2 ingress rules)`);
    expect((await session.check(`stat -c '%a %U' ${credentialsPath(tunnel)}`)).trim()).toBe('400 root');
    const journal = await session.check('journalctl -u cloudflared --no-pager -o cat');
    expect(journal).toContain('hostname=media.example.com service=http://10.231.1.1:8096');
    expect(journal).not.toContain(tunnel.secret);
  });

  it('a restart with a changed config starts a new process (ActiveEnterTimestamp moves)', async () => {
    const session = ssh as SshSession;
    const before = await show('ActiveEnterTimestampMonotonic', 'MainPID');
    await session.writeFile(
      CONFIG_PATH,
      configYaml(tunnel, [
        { hostname: 'media.example.com', service: 'http://10.231.1.1:8096' },
        { hostname: 'cloud.example.com', service: 'https://10.231.1.1:443' },
      ]),
      0o644,
    );
    await session.check(`cloudflared tunnel --config ${CONFIG_PATH} ingress validate`);
    await session.check('systemctl restart cloudflared');
    const after = await show('ActiveEnterTimestampMonotonic', 'MainPID', 'ActiveState', 'StatusText');
    expect(after.ActiveState).toBe('active');
    expect(Number(after.ActiveEnterTimestampMonotonic)).toBeGreaterThan(Number(before.ActiveEnterTimestampMonotonic));
    expect(after.MainPID).not.toBe(before.MainPID);
    expect(after.StatusText).toContain('(3 ingress rules)');
  });

  it("a broken config fails `ingress validate` with cloudflared's message; the running service is untouched", async () => {
    const session = ssh as SshSession;
    const before = await show('ActiveEnterTimestampMonotonic', 'MainPID');
    const broken = `tunnel: ${tunnel.tunnelId}\ncredentials-file: ${credentialsPath(tunnel)}\ningress:\n  - hostname: media.example.com:8096\n    service: http://10.231.1.1:8096\n  - service: http_status:404\n`;
    await session.writeFile('/etc/cloudflared/config.yml.new', broken, 0o644);
    const result = await session.exec('cloudflared tunnel --config /etc/cloudflared/config.yml.new ingress validate');
    expect(result.code).toBe(1);
    expect(result.stdout.trim()).toBe('Validating rules from /etc/cloudflared/config.yml.new');
    expect(result.stderr.trim()).toBe('Validation failed: Hostname cannot contain a port');
    expect(await show('ActiveEnterTimestampMonotonic', 'MainPID')).toEqual(before);
    expect((await session.exec('systemctl is-active cloudflared')).stdout.trim()).toBe('active');
  });

  it('a config the daemon cannot run fails the restart, and Restart=on-failure keeps retrying', async () => {
    const session = ssh as SshSession;
    const good = credentialsJson(tunnel);
    await session.check(`chmod 0600 ${credentialsPath(tunnel)}`);
    await session.writeFile(credentialsPath(tunnel), credentialsJson(tunnel, '00000000-0000-4000-8000-000000000000'), 0o400);
    const restart = await session.exec('systemctl restart cloudflared');
    expect(restart.code).not.toBe(0);
    // RestartSec=5s: systemd must come back by itself and try again.
    await expect
      .poll(async () => Number((await show('NRestarts')).NRestarts), { timeout: 20_000, interval: 1_000 })
      .toBeGreaterThanOrEqual(1);
    const journal = await session.check('journalctl -u cloudflared --no-pager -o cat -n 50');
    expect(journal).toContain('belongs to tunnel 00000000-0000-4000-8000-000000000000');

    await session.check(`chmod 0600 ${credentialsPath(tunnel)}`);
    await session.writeFile(credentialsPath(tunnel), good, 0o400);
    await session.check('systemctl restart cloudflared');
    expect(await show('ActiveState', 'SubState')).toEqual({ ActiveState: 'active', SubState: 'running' });
  });

  it('stops cleanly on SIGTERM (inactive, not failed)', async () => {
    const session = ssh as SshSession;
    await session.check('systemctl stop cloudflared');
    expect(await show('ActiveState', 'Result')).toEqual({ ActiveState: 'inactive', Result: 'success' });
    expect(await session.check('journalctl -u cloudflared --no-pager -o cat -n 20')).toContain(
      'Initiating graceful shutdown due to signal SIGTERM',
    );
  });

  it('stop and start through the backend keep the container and its address', async () => {
    await backend.stop(VMID);
    ssh?.close();
    ssh = undefined;
    const restarted = await backend.start(VMID);
    expect(restarted.ipv4).toBe(ipv4);
    ssh = await connectSsh({ host: ipv4, privateKey: key.privateKey, hostKeys: backend.container(VMID)?.hostKeys ?? [] });
    // Enabled units come back with the container, as on a rebooted Proxmox CT.
    await expect
      .poll(async () => (await (ssh as SshSession).exec('systemctl is-active cloudflared')).stdout.trim(), { timeout: 20_000 })
      .toBe('active');
  });
});
