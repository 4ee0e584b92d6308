import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectConnector } from '../../../src/connector/ssh-connector.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { SandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';
import { routeBySshHost, withReplicas } from '../../support/replicas.js';

/**
 * The third health gate and `status`'s view of it: cloudflared's metrics `/config` (the ingress
 * the running process loaded), read over SSH on each replica and compared with the rendered
 * config.yml. Two replicas, each its own sandbox host behind real sshd.
 */
let lab: SimulatedHomelab | undefined;
const extra: SandboxHost[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const h of extra.splice(0)) await h.close();
  await lab?.close();
  lab = undefined;
});

const replicas = ['{ hostname: cloudflared, sshHost: 127.0.0.1 }', '{ hostname: cloudflared-2, sshHost: 127.0.0.2 }'];

const catchAll = (yaml: string) => yaml.replace(/^tunnel:\n {2}name: homelab\n/m, 'tunnel:\n  name: homelab\n  catchAll: 503\n');

async function setUp(): Promise<{ lab: SimulatedHomelab; second: SandboxHost; wrap: (p: Ports) => Ports }> {
  const l = await startSimulatedHomelab({ serveOrigins: false });
  lab = l;
  const second = await startSandboxHost({ cloudflared: false });
  extra.push(second);
  const wrap = routeBySshHost({ '127.0.0.2': second });
  await writeFile(l.inventoryFile, withReplicas(l.inventoryYaml(), replicas));
  const first = await runCli(l, ['sync', '--yes'], wrap);
  expect(first.code, first.stderr).toBe(0);
  return { lab: l, second, wrap };
}

type JsonReplica = {
  address: string;
  version: string;
  configVersion: number;
  servesCurrentConfig: boolean;
  configDetail?: string;
  healthy: boolean;
};
type JsonStatus = { replicas: JsonReplica[]; overall: { state: string; unhealthy: string[] } };

describe('/config: the ingress each replica really serves', () => {
  it(
    "the connector reads /config in cloudflared's shape: version -1 (config.yml tunnel) and the loaded rules",
    { timeout: 120_000 },
    async () => {
      const { lab, wrap } = await setUp();
      const host = await connectConnector(lab.host.target());
      try {
        const ready = await host.readiness();
        expect(ready.status).toBe(200);
        expect(ready.config?.version).toBe(-1);
        const hostnames = ready.config!.ingress.map((r) => r.hostname);
        // The rules of the config.yml it loaded, in file order, then the catch-all.
        const file = await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8');
        const inFile = [...file.matchAll(/^ {2}- hostname: (\S+)$/gm)].map((m) => m[1]);
        expect(inFile.length).toBeGreaterThan(2);
        expect(hostnames).toEqual([...inFile, '']);
        expect(ready.config!.ingress.at(-1)).toEqual({ hostname: '', path: null, service: 'http_status:404' });
      } finally {
        await host.close();
      }
      const status = JSON.parse((await runCli(lab, ['status', '--json'], wrap)).stdout) as JsonStatus;
      expect(status.overall).toEqual({ state: 'healthy', unhealthy: [] });
      expect(status.replicas.map((r) => [r.address, r.version, r.configVersion, r.servesCurrentConfig, r.healthy])).toEqual([
        ['lxc/cloudflared', '2026.8.2-standin', -1, true, true],
        ['lxc/cloudflared-2', '2026.8.2-standin', -1, true, true],
      ]);
    },
  );

  it(
    'a replica that comes back serving its old ingress fails the gate: rolled back, exit 1; status shows it stale and the tunnel degraded',
    { timeout: 240_000 },
    async () => {
      const { lab, second, wrap } = await setUp();
      const oldConfig = await readFile(join(second.root, 'etc/cloudflared/config.yml'), 'utf8');
      // The second replica's cloudflared will restart and answer /ready 200, but keep the rules it served before.
      await mkdir(join(second.root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(second.root, 'var/lib/proxflare-standin/cloudflared-stale-config'), '');
      await writeFile(lab.inventoryFile, catchAll(withReplicas(lab.inventoryYaml(), replicas)));

      const roll = await runCli(lab, ['sync', '--yes'], wrap);
      expect(roll.code, roll.stderr).toBe(1);
      expect(roll.stderr).toMatch(/✓ unit:cloudflared:cloudflared\.service: \/config serves the new ingress/);
      expect(roll.stderr).toMatch(
        /replica cloudflared-2 did not come back healthy and was rolled back; the apply stopped there and traffic is still served by cloudflared, which was not touched/,
      );
      expect(roll.stderr).toMatch(
        /its \/config does not show the new ingress: missing \* → http_status:503; still serves \* → http_status:404/,
      );
      expect(await readFile(join(second.root, 'etc/cloudflared/config.yml'), 'utf8')).toBe(oldConfig);
      expect(await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8')).toMatch(/service: http_status:503/);

      const json = JSON.parse((await runCli(lab, ['status', '--json'], wrap)).stdout) as JsonStatus;
      expect(json.overall).toEqual({ state: 'degraded', unhealthy: ['lxc/cloudflared-2'] });
      expect(json.replicas.map((r) => [r.address, r.servesCurrentConfig, r.healthy])).toEqual([
        ['lxc/cloudflared', true, true],
        ['lxc/cloudflared-2', false, false],
      ]);
      const text = (await runCli(lab, ['status'], wrap)).stdout;
      expect(text).toMatch(
        /lxc\/cloudflared-2: .*config version -1, STALE config \(missing \* → http_status:503; still serves \* → http_status:404\)/,
      );
      expect(text).toMatch(/connectors: degraded \(lxc\/cloudflared-2 not healthy\)/);
    },
  );
});
