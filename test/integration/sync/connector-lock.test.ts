/**
 * The connector lock is really taken: while apply installs and deploys over a real SSH
 * connection to a real sshd, a second connection cannot take the same flock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedHomelab, type SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { ConnectorHost, ConnectTarget } from '../../../src/ports/connector.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

/** Before each write on the connector, try the apply's lock from a second connection (no wait). */
function probeLockBeforeWrites(seen: string[], reach: { open?: () => Promise<ConnectorHost> }): (ports: Ports) => Ports {
  return (ports) => ({
    ...ports,
    connect: async (target: ConnectTarget) => {
      const host = await ports.connect(target);
      reach.open = () => ports.connect(target);
      const probe = async (what: string) => {
        const other = await ports.connect(target);
        try {
          const release = await other.lock('tunnel-homelab', 0);
          await release();
          seen.push(`${what}: lock was free`);
        } catch (err) {
          seen.push(`${what}: ${/another proxflare run holds it/.test((err as Error).message) ? 'lock held' : (err as Error).message}`);
        } finally {
          await other.close();
        }
      };
      return new Proxy(host, {
        get(target, key) {
          const value = Reflect.get(target, key, target) as unknown;
          if (key === 'installCloudflared' || key === 'deploy') {
            return async (...args: unknown[]) => {
              await probe(key);
              return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            };
          }
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }) as ConnectorHost;
    },
  });
}

describe('the connector lock during apply', () => {
  it('is held on the connector while cloudflared is installed and the files are deployed', { timeout: 180_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 50 });
    const seen: string[] = [];
    const reach: { open?: () => Promise<ConnectorHost> } = {};
    const run = await runCli(lab, ['sync', '--yes'], probeLockBeforeWrites(seen, reach));
    expect(run.code, run.stderr).toBe(0);
    expect(seen).toEqual(['installCloudflared: lock held', 'deploy: lock held']);
    // Released when apply ends: another connection gets it without waiting.
    const other = await reach.open!();
    try {
      const release = await other.lock('tunnel-homelab', 0);
      await release();
    } finally {
      await other.close();
    }
  });
});
