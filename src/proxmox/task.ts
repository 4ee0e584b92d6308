import { ProviderError } from '../core/errors.js';
import type { PveApiClient } from './api-client.js';

/** `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` (README-pve §4.11). */
export function parseUpid(upid: string): { node: string; type: string; id: string } | undefined {
  const m =
    /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):[0-9A-Fa-f]{8}:[0-9A-Fa-f]{8,9}:[0-9A-Fa-f]{8}:([^:\s/]+):([^:\s/]*):([^:\s/]+):$/.exec(
      upid,
    );
  return m ? { node: m[1]!, type: m[2]!, id: m[3]! } : undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls a worker task on the node named inside its UPID until it stops. Success is `OK` or
 * `WARNINGS: n`; anything else fails with the exit status and the tail of the task log.
 */
export async function waitForTask(
  client: PveApiClient,
  upid: unknown,
  operation: string,
  options: { pollMs: number; timeoutMs: number },
): Promise<void> {
  const parsed = typeof upid === 'string' ? parseUpid(upid) : undefined;
  if (!parsed || typeof upid !== 'string')
    throw new ProviderError('proxmox', operation, `expected a task id (UPID) from Proxmox, got ${JSON.stringify(upid)}`);
  const { node } = parsed;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const status = (await client.call(`${operation}: poll task`, 'GET', (api) => api.nodes.$(node).tasks.$(upid).status.$get())) as {
      status: string;
      exitstatus?: string;
    };
    if (status.status === 'stopped') {
      const exit = status.exitstatus ?? 'unexpected status';
      if (exit === 'OK' || /^WARNINGS/.test(exit)) return;
      const log = (await client
        .call(`${operation}: read task log`, 'GET', (api) => api.nodes.$(node).tasks.$(upid).log.$get({ start: 0, limit: 1000 }))
        .catch(() => [])) as { n: number; t: string }[];
      const tail = log.slice(-15).map((l) => `    | ${l.t}`);
      throw new ProviderError(
        'proxmox',
        operation,
        `task ${parsed.type} ${parsed.id} on node ${node} failed: ${exit}${tail.length ? `\n  task log (last ${tail.length} lines):\n${tail.join('\n')}` : ''}`,
        `full log: Proxmox UI → ${node} → Tasks, or \`pvenode task log ${upid}\` on the node`,
      );
    }
    if (Date.now() > deadline)
      throw new ProviderError(
        'proxmox',
        operation,
        `task ${parsed.type} ${parsed.id} on node ${node} still running after ${Math.round(options.timeoutMs / 1000)} s`,
        `check it in the Proxmox UI (${upid}); re-run sync once it has finished`,
      );
    await sleep(options.pollMs);
  }
}
