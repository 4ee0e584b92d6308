import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

const run = promisify(execFile);

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** Tunnel settings and every connector-served service type, added to the simulated homelab's inventory. */
function withEverything(yaml: string): string {
  return `${yaml.replace(
    'tunnel:\n  name: homelab\n',
    'tunnel:\n  name: homelab\n  protocol: http2\n  edgeIpVersion: 4\n  logLevel: warn\n  gracePeriod: 45s\n  retries: 7\n  originRequest: { connectTimeout: 5s }\n  catchAll: 410\n',
  )}  - name: lab-tools
    address: 127.0.20.9
    services:
      - { hostname: hello.example.com, scheme: hello_world }
      - { hostname: jump.example.com, scheme: bastion }
      - hostname: socks.example.com
        scheme: socks
        originRequest: { ipRules: [{ prefix: 127.0.0.0/8, ports: [22], allow: true }] }
      - { hostname: sock.example.com, scheme: unix+tls, socket: /run/app.sock }
      - { path: ^/\\.well-known/security\\.txt$, scheme: http_status, status: 404 }
`;
}

describe('tunnel settings and service types against the simulated homelab', () => {
  it(
    "apply over SSH, pass the connector's own `ingress validate`, route with its `ingress rule`, and converge",
    { timeout: 120_000 },
    async () => {
      const homelab = await startSimulatedHomelab();
      lab = homelab;
      await writeFile(homelab.inventoryFile, withEverything(homelab.inventoryYaml()));
      const applied = await runCli(homelab, ['sync', '--yes']);
      expect(applied.code, applied.stderr).toBe(0);

      const config = await readFile(join(homelab.host.root, 'etc/cloudflared/config.yml'), 'utf8');
      for (const line of [
        'protocol: http2',
        'edge-ip-version: "4"',
        'loglevel: warn',
        'grace-period: 45s',
        'retries: 7',
        '  - service: http_status:410',
      ]) {
        expect(config).toContain(`${line}\n`);
      }
      // The stand-in cloudflared on the connector, as apply runs it (same exit code and output as the real binary).
      const cloudflared = join(homelab.host.root, 'usr/bin/cloudflared');
      const validate = await run(cloudflared, [
        'tunnel',
        '--config',
        join(homelab.host.root, 'etc/cloudflared/config.yml'),
        'ingress',
        'validate',
      ]);
      expect(validate.stdout).toContain('OK');
      const rule = async (url: string) =>
        (await run(cloudflared, ['tunnel', '--config', join(homelab.host.root, 'etc/cloudflared/config.yml'), 'ingress', 'rule', url]))
          .stdout;
      expect(await rule('https://hello.example.com/')).toContain('service: hello_world');
      expect(await rule('https://jump.example.com/')).toContain('service: bastion');
      expect(await rule('https://socks.example.com/')).toContain('service: socks-proxy');
      expect(await rule('https://sock.example.com/')).toContain('service: unix+tls:/run/app.sock');
      expect(await rule('https://nas.example.com/')).toContain('service: http://127.0.20.1:5000');
      expect(await rule('https://unknown.example.org/.well-known/security.txt')).toContain('service: http_status:404');
      expect(await rule('https://unknown.example.org/')).toContain('service: http_status:410');

      // A path rule without hostname gets no DNS record; every hostname does.
      const ours = homelab.cloudflare.state
        .records('example.com')
        .filter((r) => r.comment?.startsWith('managed by proxflare'))
        .map((r) => r.name);
      expect(ours).toEqual(
        expect.arrayContaining(['hello.example.com', 'jump.example.com', 'socks.example.com', 'sock.example.com', 'nas.example.com']),
      );
      expect((await runCli(homelab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
      const status = await runCli(homelab, ['status']);
      expect(status.stdout).toMatch(/\(any hostname\) \^\/\\\.well-known\/security\\\.txt\$ +none +http_status:404/);
      expect(status.stdout).toMatch(/hello\.example\.com +ok +hello_world/);
    },
  );
});
