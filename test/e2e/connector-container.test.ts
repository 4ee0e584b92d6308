/**
 * The connector adapter (src/connector, over ssh2) against a real Debian container with systemd:
 * install the stand-in cloudflared from an uploaded .deb, deploy config + credentials + unit,
 * restart only on change, and roll back a bad push while the old tunnel keeps running.
 * Independent assertions go through a second SSH connection, not through the adapter.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectConnector } from '../../src/connector/ssh-connector.js';
import type { ConnectorHost, ManagedFile } from '../../src/ports/connector.js';
import { createE2eEnvironment, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend, type RealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { buildStandinDeb, STANDIN_VERSION } from '../../src/sim/standin/build-deb.js';
import { CONFIG_PATH, cloudflaredUnit, configYaml, credentialsJson, credentialsPath, newTunnel } from './support/cloudflared-files.js';
import { containerGate } from './support/prerequisites.js';
import { connectorContainer, showCloudflared } from './support/connector-container.js';
import { connectSsh, generateKeyPair, type SshSession } from './support/ssh.js';

const gate = await containerGate('e2e: connector adapter against a real container');
const VMID = 9201;
const UNIT_PATH = '/etc/systemd/system/cloudflared.service';

describe.skipIf(gate.skip)('connector adapter on a real Debian container', () => {
  const key = generateKeyPair();
  const tunnel = newTunnel();
  const work = mkdtempSync(join(tmpdir(), 'pf-e2e-con-'));
  const media = { hostname: 'media.example.com', service: 'http://10.231.2.1:8096' };
  const cloud = { hostname: 'cloud.example.com', service: 'https://10.231.2.1:443' };
  let environment: E2eEnvironment | undefined;
  let backend: RealLxcBackend;
  let host: ConnectorHost | undefined;
  let ssh: SshSession | undefined;
  let deb: string;

  const files = (config: string, credentials = credentialsJson(tunnel)): ManagedFile[] => [
    { path: CONFIG_PATH, content: config, mode: 0o644 },
    { path: credentialsPath(tunnel), content: credentials, mode: 0o400, sensitive: true },
    { path: UNIT_PATH, content: cloudflaredUnit(), mode: 0o644 },
  ];
  const show = (...properties: string[]) => showCloudflared(ssh as SshSession, ...properties);
  const connector = () => host as ConnectorHost;

  beforeAll(async () => {
    environment = await createE2eEnvironment({ tag: 'con', subnet: '10.231.2' });
    backend = createRealLxcBackend({ environment });
    await backend.create(connectorContainer(VMID, key.publicKey));
    const { ipv4 } = await backend.start(VMID);
    const container = backend.container(VMID);
    const knownHosts = join(work, 'known_hosts');
    writeFileSync(knownHosts, container?.knownHosts ?? '');
    deb = await buildStandinDeb(work);
    host = await connectConnector({
      host: ipv4 as string,
      port: 22,
      user: 'root',
      privateKey: key.privateKey,
      knownHosts,
      trustOnFirstUse: false,
    });
    ssh = await connectSsh({ host: ipv4 as string, privateKey: key.privateKey, hostKeys: container?.hostKeys ?? [] });
  }, 20 * 60_000);

  afterAll(async () => {
    await host?.close().catch(() => undefined);
    ssh?.close();
    try {
      await environment?.cleanup();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it('reads a fresh host as: no cloudflared, no files, unit neither enabled nor active', async () => {
    const state = await connector().readState([CONFIG_PATH, credentialsPath(tunnel), UNIT_PATH], 'cloudflared');
    expect(state.cloudflaredVersion).toBeUndefined();
    expect([...state.files.keys()]).toEqual([]);
    expect(state.unit).toEqual({ enabled: false, active: false });
  });

  it('installs cloudflared from a local .deb uploaded over SFTP, and not twice', async () => {
    expect(await connector().installCloudflared({ type: 'deb', path: deb })).toBe(STANDIN_VERSION);
    expect(await connector().installCloudflared({ type: 'deb', path: deb, version: STANDIN_VERSION })).toBe(STANDIN_VERSION);
    const installs = await (ssh as SshSession).check("grep -c ' install cloudflared' /var/log/dpkg.log || true");
    expect(installs.trim()).toBe('1');
    expect((await (ssh as SshSession).check('ls /tmp')).trim()).not.toMatch(/proxflare-cloudflared/);
  });

  it('deploys config, credentials and unit, validates, and starts the Type=notify service', async () => {
    const result = await connector().deploy({
      files: files(configYaml(tunnel, [media])),
      unit: 'cloudflared',
      validateConfig: CONFIG_PATH,
      restart: true,
      reloadUnits: true,
    });
    expect(result.restarted).toBe(true);
    const session = ssh as SshSession;
    expect((await session.exec('systemctl is-active cloudflared')).stdout.trim()).toBe('active');
    expect((await session.exec('systemctl is-enabled cloudflared')).stdout.trim()).toBe('enabled');
    expect(await show('Type', 'SubState', 'StatusText')).toEqual({
      Type: 'notify',
      SubState: 'running',
      StatusText: `stand-in serving tunnel ${tunnel.tunnelId} (2 ingress rules)`,
    });
    expect((await session.check(`stat -c '%a %U:%G' ${CONFIG_PATH} ${credentialsPath(tunnel)} ${UNIT_PATH}`)).trim().split('\n')).toEqual([
      '644 root:root',
      '400 root:root',
      '644 root:root',
    ]);
    expect(await session.check(`cat ${CONFIG_PATH}`)).toBe(configYaml(tunnel, [media]));
  });

  it('reads back exactly what it deployed, without disturbing the service', async () => {
    const before = await show('ActiveEnterTimestampMonotonic', 'MainPID');
    const state = await connector().readState([CONFIG_PATH, credentialsPath(tunnel), UNIT_PATH], 'cloudflared');
    expect(state.cloudflaredVersion).toBe(STANDIN_VERSION);
    expect(state.unit).toEqual({ enabled: true, active: true });
    for (const file of files(configYaml(tunnel, [media]))) {
      expect(state.files.get(file.path)).toMatchObject({ content: file.content, mode: file.mode, owner: 'root' });
    }
    expect(await show('ActiveEnterTimestampMonotonic', 'MainPID')).toEqual(before);
  });

  it('a config change restarts the service with the new rules', async () => {
    const before = await show('ActiveEnterTimestampMonotonic', 'MainPID');
    const result = await connector().deploy({
      files: [{ path: CONFIG_PATH, content: configYaml(tunnel, [media, cloud]), mode: 0o644 }],
      unit: 'cloudflared',
      validateConfig: CONFIG_PATH,
      restart: true,
      reloadUnits: false,
    });
    expect(result.restarted).toBe(true);
    const after = await show('ActiveEnterTimestampMonotonic', 'MainPID', 'StatusText');
    expect(Number(after.ActiveEnterTimestampMonotonic)).toBeGreaterThan(Number(before.ActiveEnterTimestampMonotonic));
    expect(after.MainPID).not.toBe(before.MainPID);
    expect(after.StatusText).toContain('(3 ingress rules)');
  });

  it('refuses a config cloudflared rejects, changing nothing on the host', async () => {
    const before = await show('ActiveEnterTimestampMonotonic', 'MainPID');
    const broken = configYaml(tunnel, [media, cloud]).replace('hostname: cloud.example.com', 'hostname: cloud.example.com:8443');
    const attempt = connector().deploy({
      files: [{ path: CONFIG_PATH, content: broken, mode: 0o644 }],
      unit: 'cloudflared',
      validateConfig: CONFIG_PATH,
      restart: true,
      reloadUnits: false,
    });
    await expect(attempt).rejects.toThrow(/Validation failed: Hostname cannot contain a port/);
    expect(await (ssh as SshSession).check(`cat ${CONFIG_PATH}`)).toBe(configYaml(tunnel, [media, cloud]));
    expect(await show('ActiveEnterTimestampMonotonic', 'MainPID')).toEqual(before);
  });

  it('rolls back a push the daemon cannot start with; the old tunnel keeps running', async () => {
    const otherTunnel = '00000000-0000-4000-8000-000000000000';
    const attempt = connector().deploy({
      files: [{ path: credentialsPath(tunnel), content: credentialsJson(tunnel, otherTunnel), mode: 0o400, sensitive: true }],
      unit: 'cloudflared',
      validateConfig: CONFIG_PATH,
      restart: true,
      reloadUnits: false,
    });
    const error = (await attempt.then(
      () => undefined,
      (e: unknown) => e,
    )) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(`belongs to tunnel ${otherTunnel}`);
    expect(error.message).not.toContain(tunnel.secret);
    const session = ssh as SshSession;
    expect(await session.check(`cat ${credentialsPath(tunnel)}`)).toBe(credentialsJson(tunnel));
    expect(await show('ActiveState', 'SubState', 'StatusText')).toEqual({
      ActiveState: 'active',
      SubState: 'running',
      StatusText: `stand-in serving tunnel ${tunnel.tunnelId} (3 ingress rules)`,
    });
  });
});
