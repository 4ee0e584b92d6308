/**
 * Helpers for the connector integration tier: whether a real sshd is available, the
 * tunnel files a deploy writes, and a TCP relay on 127.0.0.1 that can cut a connection
 * after N bytes (to kill an upload half-way).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, watch as watchDir } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { connectConnector } from '../../src/connector/ssh-connector.js';
import type { ConnectTarget, ConnectorHost, DeployRequest, ManagedFile } from '../../src/ports/connector.js';
import { SSHD_PATH, startSandboxHost } from '../../src/sim/ssh/sandbox-host.js';
import type { SandboxHost, SandboxHostOptions } from '../../src/sim/ssh/sandbox-host.js';

export const hasSshd = existsSync(SSHD_PATH);

if (!hasSshd) {
  console.warn(
    `\n*** SKIPPING the real-sshd connector tests: ${SSHD_PATH} is missing (apt-get install openssh-server). CI installs it. ***\n`,
  );
}

export const UNIT = 'cloudflared.service';
export const PATHS = {
  config: '/etc/cloudflared/config.yml',
  unit: '/etc/systemd/system/cloudflared.service',
  credentials: (id: string) => `/etc/cloudflared/${id}.json`,
};

/** The unit `cloudflared service install` writes in config mode (see test/fixtures/connector/SOURCE.md). */
export const UNIT_TEXT = readFileSync(new URL('../fixtures/connector/cloudflared.service', import.meta.url), 'utf8');

export interface TunnelFixture {
  id: string;
  config: (routes?: Array<[string, string]>) => string;
  credentials: string;
}

export function tunnelFixture(): TunnelFixture {
  const id = randomUUID();
  const credentials = JSON.stringify({
    AccountTag: randomBytes(16).toString('hex'),
    TunnelSecret: randomBytes(32).toString('base64'),
    TunnelID: id,
  });
  return {
    id,
    credentials,
    config: (routes = [['media.example.com', 'http://192.168.1.10:8096']]) =>
      [
        `tunnel: ${id}`,
        `credentials-file: ${PATHS.credentials(id)}`,
        'ingress:',
        ...routes.flatMap(([hostname, service]) => [`  - hostname: ${hostname}`, `    service: ${service}`]),
        '  - service: http_status:404',
        '',
      ].join('\n'),
  };
}

export function deployRequest(t: TunnelFixture, config: string, overrides: Partial<DeployRequest> = {}): DeployRequest {
  const files: ManagedFile[] = [
    { path: PATHS.config, content: config, mode: 0o644 },
    { path: PATHS.credentials(t.id), content: t.credentials, mode: 0o600, sensitive: true },
    { path: PATHS.unit, content: UNIT_TEXT, mode: 0o644 },
  ];
  return { files, unit: UNIT, validateConfig: PATHS.config, restart: true, reloadUnits: true, ...overrides };
}

/** What the systemctl stand-in recorded for the unit (how many starts, when it last became active). */
export async function unitRecord(root: string, unit = UNIT): Promise<{ starts: number; activeEnter: string }> {
  const dir = join(root, 'var', 'lib', 'proxflare-standin', 'systemd', unit);
  const starts = Number((await readFile(join(dir, 'starts'), 'utf8').catch(() => '0')).trim());
  const activeEnter = (await readFile(join(dir, 'active-enter'), 'utf8').catch(() => '')).trim();
  return { starts, activeEnter };
}

/** A relay 127.0.0.1:port → 127.0.0.1:targetPort that can sever the link once enough bytes went upstream. */
export async function startCuttingRelay(targetPort: number): Promise<{
  port: number;
  /** Cut every relayed connection once `bytes` more client→server bytes have passed; resolves when it cut. */
  cutAfter(bytes: number): Promise<void>;
  close(): Promise<void>;
}> {
  const pairs = new Set<[Socket, Socket]>();
  let budget = Number.POSITIVE_INFINITY;
  let onCut: (() => void) | undefined;
  const server = createServer((client) => {
    const upstream = netConnect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on('data', (d: Buffer) => {
      budget -= d.length;
      if (budget <= 0) {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        onCut?.();
        return;
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cutAfter: (bytes) =>
      new Promise((resolve) => {
        budget = bytes;
        onCut = resolve;
      }),
    close: () =>
      new Promise((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/** Resolves once `check` holds, re-checked on every change in `dir` (an event, never a sleep). */
export function untilTrue(dir: string, check: () => Promise<boolean>): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    // The callback watcher is live as soon as it returns, so no change after this line is missed.
    const watcher = watchDir(dir, () => void probe());
    const probe = async () => {
      if (done) return;
      try {
        if (!(await check()) || done) return;
        done = true;
        watcher.close();
        resolve();
      } catch (err) {
        watcher.close();
        reject(err as Error);
      }
    };
    void probe();
  });
}

/**
 * The set-up of a connector test file: one sandbox host started before its tests and closed
 * after them, and `connect`, whose connections are closed after each test. Read `sandbox` in
 * the tests, not at describe time: it is set by the beforeAll hook.
 */
export function sandboxSuite(options: SandboxHostOptions): {
  sandbox: SandboxHost;
  connect: (overrides?: Partial<ConnectTarget>) => Promise<ConnectorHost>;
  inSandbox: (path: string) => string;
} {
  const open: ConnectorHost[] = [];
  const suite = {
    sandbox: undefined as unknown as SandboxHost,
    connect: async (overrides: Partial<ConnectTarget> = {}) => {
      const host = await connectConnector(suite.sandbox.target(overrides));
      open.push(host);
      return host;
    },
    inSandbox: (path: string) => join(suite.sandbox.root, path),
  };
  beforeAll(async () => {
    suite.sandbox = await startSandboxHost(options);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    await suite.sandbox?.close();
  });
  return suite;
}
