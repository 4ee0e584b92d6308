/**
 * Connector replicas in the simulated homelab: the demo connector plays the first replica
 * (SSH to 127.0.0.1); each further replica is a sandbox host of its own, reached when the
 * inventory's `sshHost` for it (127.0.0.2, 127.0.0.3) is dialled.
 */
import { expect } from 'vitest';
import { connectConnector } from '../../src/connector/ssh-connector.js';
import type { SandboxHost } from '../../src/sim/ssh/sandbox-host.js';
import type { Ports } from '../../src/sync/ports.js';

/** The demo inventory with `connector.replicas` instead of the one connector. */
export function withReplicas(yaml: string, replicas: string[]): string {
  const out = yaml
    .replace(/^ {2}hostname: cloudflared\n/m, `  replicas:\n${replicas.map((r) => `    - ${r}\n`).join('')}`)
    .replace(/^ {4}host: 127\.0\.0\.1\n/m, '');
  expect(out).not.toBe(yaml);
  return out;
}

/** The inventory with `connector.healthTimeout` set: a replica that fails its gate is rolled back after that many seconds. */
export function withHealthTimeout(yaml: string, seconds: number): string {
  const out = yaml.replace(/^connector:\n/m, `connector:\n  healthTimeout: ${seconds}\n`);
  expect(out).not.toBe(yaml);
  return out;
}

/** Ports whose SSH to one of `hosts`' addresses goes to that sandbox host; its cloudflared registers with the simulated edge itself. */
export function routeBySshHost(hosts: Record<string, SandboxHost>): (ports: Ports) => Ports {
  return (ports) => ({
    ...ports,
    connect: async (target) => {
      const sandbox = hosts[target.host];
      return sandbox ? connectConnector(sandbox.target()) : ports.connect(target);
    },
  });
}
