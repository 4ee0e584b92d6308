import type { Reporter } from '../core/reporter.js';
import type { TunnelConnector, TunnelsPort } from '../ports/cloudflare.js';

export interface ConnectorWaitOptions {
  cloudflare: Pick<TunnelsPort, 'listConnectors'>;
  reporter: Reporter;
  accountId: string;
  tunnelId: string;
  /** e.g. tunnel/homelab */
  address: string;
  /** How long to wait for the restarted connector (default 20 s). */
  timeoutMs?: number;
  /** Pause between two reads of the connections endpoint (default 1 s). */
  intervalMs?: number;
}

export interface ConnectorWatch {
  /** Waits until a connector that was not there before the restart holds edge connections. */
  waitForRestarted(): Promise<void>;
  /**
   * Waits until the connector with this id (from its `/ready`) holds edge connections; false
   * when the timeout passes first. The health gate of a rolling restart.
   */
  waitForConnector(id: string): Promise<boolean>;
}

/**
 * A tunnel whose DNS routes exist but that has no healthy connector answers error 1033, so after
 * a (re)start apply waits for Cloudflare to list the new cloudflared on the connections endpoint
 * (GET .../cfd_tunnel/{id}/connections; tunnel objects no longer carry connections since
 * 2026-10-05, Cloudflare changelog 2026-07-09). A restarted cloudflared registers under a new
 * connector id, so the ids seen before the restart are remembered and ignored: a connector the
 * edge has not dropped yet does not end the wait early.
 * Not connecting in time is a warning, not a failure: systemd keeps cloudflared retrying.
 */
export async function watchConnectorRestart(options: ConnectorWaitOptions): Promise<ConnectorWatch> {
  const { reporter, address } = options;
  const before = new Set((await readConnectors(options)).map((c) => c.id));
  return {
    async waitForConnector(id) {
      const deadline = Date.now() + (options.timeoutMs ?? 20_000);
      for (;;) {
        const found = (await readConnectors(options)).find((c) => c.id === id && c.connections > 0);
        if (found) {
          reporter.done(address, `connector ${found.id} (cloudflared ${found.version}), ${plural(found.connections, 'connection')}`);
          return true;
        }
        if (Date.now() >= deadline) return false;
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      }
    },
    async waitForRestarted() {
      const deadline = Date.now() + (options.timeoutMs ?? 20_000);
      reporter.step(address, 'waiting for the connector to connect to Cloudflare');
      let last: TunnelConnector[] = [];
      for (;;) {
        last = await readConnectors(options);
        const fresh = last.find((c) => !before.has(c.id) && c.connections > 0);
        if (fresh) {
          reporter.done(address, `connector ${fresh.id} (cloudflared ${fresh.version}), ${plural(fresh.connections, 'connection')}`);
          return;
        }
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
      }
      const seen =
        last.length === 0
          ? 'no connector is listed'
          : `only connectors from before the restart are listed (${last.map((c) => c.id).join(', ')})`;
      reporter.warn(
        `${address}: the restarted cloudflared has no edge connection yet (${seen}); it keeps retrying. ` +
          'Check that the connector can reach Cloudflare (outbound 7844/udp+tcp), then `proxflare status`.',
      );
    },
  };
}

/** A failed read (network, permission) must not fail an apply whose changes are in place. */
async function readConnectors(options: ConnectorWaitOptions): Promise<TunnelConnector[]> {
  try {
    return await options.cloudflare.listConnectors(options.accountId, options.tunnelId);
  } catch (err) {
    options.reporter.debug(`${options.address}: reading connectors failed: ${err instanceof Error ? err.message : String(err)}`);
    return [];
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
