/**
 * The faithful edge with a real container: the stand-in cloudflared runs under the container's
 * own systemd, dials OUT over the test bridge to the Cloudflare simulator's edge endpoint (which
 * listens on the bridge's host address, created by this run), and visitors' requests come back
 * in over that connection to an origin on the bridge. Killing the process takes its registration
 * away (1033), and systemd's Restart=on-failure brings a new connector back by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCloudflareSim, type CloudflareSim } from '../../src/sim/cloudflare/start-cloudflare-sim.js';
import type { SimTunnel } from '../../src/sim/cloudflare/sim-state.js';
import { createE2eEnvironment, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend, type RealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { buildStandinDeb } from '../../src/sim/standin/build-deb.js';
import {
  CONFIG_PATH,
  cloudflaredUnit,
  configYaml,
  credentialsJson,
  credentialsPath,
  type TunnelIdentity,
} from './support/cloudflared-files.js';
import { containerGate } from './support/prerequisites.js';
import { connectorContainer } from './support/connector-container.js';
import { connectSsh, generateKeyPair, type SshSession } from './support/ssh.js';

const gate = await containerGate('e2e: the stand-in cloudflared dials the simulated edge from a real container');
const VMID = 9102;

describe.skipIf(gate.skip)('the simulated edge and a connector in a real container', () => {
  const key = generateKeyPair();
  const work = mkdtempSync(join(tmpdir(), 'pf-e2e-edge-'));
  let environment: E2eEnvironment | undefined;
  let backend: RealLxcBackend;
  let ssh: SshSession | undefined;
  let cf: CloudflareSim | undefined;
  let origin: Server | undefined;
  let tunnel: SimTunnel;
  let identity: TunnelIdentity;
  let ipv4: string;

  const visit = (host: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const edge = new URL(cf!.edge.url);
      const req = request({ host: edge.hostname, port: edge.port, path: '/', headers: { host } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
  const connectors = () => tunnel.connectors;

  beforeAll(async () => {
    environment = await createE2eEnvironment({ tag: 'edge', subnet: '10.231.10' });
    backend = createRealLxcBackend({ environment });
    await backend.create(connectorContainer(VMID, key.publicKey));
    ipv4 = (await backend.start(VMID)).ipv4 as string;
    ssh = await connectSsh({ host: ipv4, privateKey: key.privateKey, hostKeys: backend.container(VMID)?.hostKeys ?? [] });

    const hostAddress = environment.bridge.hostAddress;
    cf = await startCloudflareSim({ zones: [{ name: 'example.com' }], edgeHost: hostAddress });
    tunnel = cf.state.seedTunnel(cf.accountId, 'e2e-edge');
    cf.state.seedRecord('example.com', { name: 'media', content: `${tunnel.id}.cfargotunnel.com`, proxied: true });
    identity = { tunnelId: tunnel.id, accountTag: cf.accountId, secret: tunnel.secret };
    origin = createServer((_req, res) => res.end('media origin\n'));
    await new Promise<void>((r) => origin!.listen(18096, hostAddress, () => r()));

    const deb = await buildStandinDeb(work, undefined, { edge: { edge: cf.edge.connectors } });
    await ssh.upload(deb, '/tmp/cloudflared.deb');
    await ssh.check('dpkg -i /tmp/cloudflared.deb && install -d -m 0755 /etc/cloudflared');
    await ssh.writeFile(
      CONFIG_PATH,
      configYaml(identity, [{ hostname: 'media.example.com', service: `http://${hostAddress}:18096` }]),
      0o644,
    );
    await ssh.writeFile(credentialsPath(identity), credentialsJson(identity), 0o600);
    await ssh.writeFile('/etc/systemd/system/cloudflared.service', cloudflaredUnit(), 0o644);
  }, 20 * 60_000);

  afterAll(async () => {
    ssh?.close();
    await new Promise<void>((r) => (origin ? origin.close(() => r()) : r()));
    await cf?.close();
    try {
      await environment?.cleanup();
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 180_000);

  it("registers over the bridge once systemd starts it, and carries a visitor's request to the origin", async () => {
    expect(connectors()).toEqual([]);
    await ssh!.check('systemctl daemon-reload && systemctl enable --now cloudflared');
    // READY=1 came after the first registration, so the edge lists it by the time start returns.
    expect(connectors()).toHaveLength(1);
    await expect.poll(() => connectors()[0]?.conns.length, { timeout: 10_000 }).toBe(4);
    expect(connectors()[0]!.conns.every((c) => c.origin_ip === ipv4)).toBe(true);
    expect(connectors()[0]!.version).toBe('2026.8.2-standin');
    const journal = await ssh!.check('journalctl -u cloudflared --no-pager -o cat');
    expect(journal).toMatch(new RegExp(`Generated Connector ID: ${connectors()[0]!.id}`));
    expect(journal).not.toContain(tunnel.secret);
    expect(await visit('media.example.com')).toEqual({ status: 200, body: 'media origin\n' });
  });

  it('killed, its registration goes (1033); systemd restarts it and a new connector serves again', async () => {
    const before = connectors()[0]!.id;
    await ssh!.check('systemctl kill -s SIGKILL cloudflared');
    await expect.poll(() => connectors().length, { timeout: 15_000 }).toBe(0);
    const down = await visit('media.example.com');
    expect(down.status).toBe(530);
    expect(down.body).toContain('<span>1033</span>');
    // Restart=on-failure, RestartSec=5s (the rendered unit): systemd brings it back by itself.
    await expect.poll(() => connectors().length, { timeout: 30_000, interval: 500 }).toBe(1);
    expect(connectors()[0]!.id).not.toBe(before);
    expect(Number((await ssh!.check('systemctl show -p NRestarts --value cloudflared')).trim())).toBeGreaterThanOrEqual(1);
    expect(await visit('media.example.com')).toEqual({ status: 200, body: 'media origin\n' });
  });

  it('with a wrong TunnelSecret the edge refuses the registration and the start fails', async () => {
    await ssh!.writeFile(
      credentialsPath(identity),
      credentialsJson({ ...identity, secret: Buffer.alloc(32, 9).toString('base64') }),
      0o600,
    );
    const restart = await ssh!.exec('systemctl restart cloudflared');
    expect(restart.code).not.toBe(0);
    expect(await ssh!.check('journalctl -u cloudflared --no-pager -o cat -n 30')).toContain('Unauthorized: Invalid tunnel secret');
    await expect.poll(() => connectors().length, { timeout: 10_000 }).toBe(0);
    await ssh!.writeFile(credentialsPath(identity), credentialsJson(identity), 0o600);
    await ssh!.check('systemctl restart cloudflared');
    expect(connectors()).toHaveLength(1);
    await ssh!.check('systemctl stop cloudflared');
    // A graceful stop unregisters and closes its connections.
    await expect.poll(() => connectors().length, { timeout: 10_000 }).toBe(0);
  });
});
