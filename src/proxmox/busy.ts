import { ProviderError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { LxcRef } from '../ports/proxmox.js';
import { describeBusy } from '../core/pve-config.js';
import type { PveApiClient } from './api-client.js';

/**
 * A container with a config `lock` (create, clone, backup, migrate, ...) or a running worker task
 * is busy: proxflare never plans past it and never acts on it, it waits for the task or reports
 * it (README-pve §4.14 "Create in progress, locks and destroy").
 */

/** One row of GET /nodes/{node}/tasks?source=active (pve-manager PVE/API2/Tasks.pm node_tasks, README-pve §4.15). */
export interface TaskRow {
  upid: string;
  type: string;
  id: string;
  /** Active rows: the full `user@realm!token`; archive rows: `user@realm` plus `tokenid`. */
  user: string;
  tokenid?: string;
  status?: string;
}

/** Whether the task was started by this token (active rows carry the full token id, archive rows split it). */
export function isOwnTask(row: TaskRow, tokenId: string): boolean {
  return row.user === tokenId || (row.tokenid !== undefined && `${row.user}!${row.tokenid}` === tokenId);
}

/**
 * Running tasks of one guest. The token sees its own tasks, and everyone's with Sys.Audit on
 * /nodes/<node>; a finished task leaves the active list once the API daemon archived it.
 */
export async function runningTasks(read: ReadCall, ref: LxcRef): Promise<TaskRow[]> {
  const rows = await read<TaskRow[] | null>(`list running tasks of CT ${ref.vmid}`, (api) =>
    api.nodes.$(ref.node).tasks.$get({ vmid: ref.vmid, source: 'active' }),
  );
  return (rows ?? []).filter((r) => r.status === 'RUNNING');
}

export interface WaitOptions {
  reporter: Reporter;
  /** Plan address the progress is reported under, e.g. `lxc/cloudflared`. */
  address: string;
  pollMs: number;
  /** Absolute deadline (Date.now() based). */
  deadline: number;
}

/** A GET through the adapter's request limit (proxmox.concurrency). */
export type ReadCall = <T>(operation: string, fn: Parameters<PveApiClient['call']>[2]) => Promise<T>;

/** Plain GETs on the client, for writes' follow-ups outside readState. */
export const readVia =
  (client: PveApiClient): ReadCall =>
  <T>(operation: string, fn: Parameters<PveApiClient['call']>[2]) =>
    client.call(operation, 'GET', fn) as Promise<T>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits until the guest has no running task we can see and no config lock, reporting progress.
 * Returns false when the deadline passed first (the caller reports "busy, re-run when … ends").
 */
export async function waitUntilIdle(
  read: ReadCall,
  ref: LxcRef,
  busy: { lock?: string; upid?: string },
  options: WaitOptions,
): Promise<boolean> {
  const { reporter, address } = options;
  reporter.step(address, `${describeBusy(busy.lock, busy.upid)}, waiting`);
  let lastSeen = busy.upid;
  for (;;) {
    const tasks = await runningTasks(read, ref);
    const lock = await configLock(read, ref);
    const task = tasks[0]?.upid;
    if (!task && lock === undefined) {
      reporter.done(address, lastSeen ? `task ${lastSeen} ended` : 'lock released');
      return true;
    }
    if (task && task !== lastSeen) {
      reporter.step(address, `${describeBusy(lock, task)}, waiting`);
      lastSeen = task;
    }
    if (Date.now() >= options.deadline) return false;
    await sleep(Math.min(options.pollMs, Math.max(0, options.deadline - Date.now())));
  }
}

export async function configLock(read: ReadCall, ref: LxcRef): Promise<string | undefined> {
  try {
    const config = await read<Record<string, unknown>>(`read config of CT ${ref.vmid}`, (api) =>
      api.nodes.$(ref.node).lxc.$(ref.vmid).config.$get(),
    );
    return typeof config.lock === 'string' ? config.lock : undefined;
  } catch (e) {
    // A create that failed removes the config: nothing is locked any more.
    if (e instanceof ProviderError && e.status === 500 && /does not exist/.test(e.detail)) return undefined;
    throw e;
  }
}

/** Texts with which a worker or a config update refuses a busy CT (README-pve §4.14). */
export const BUSY_ERROR = /CT is locked \(([^)]*)\)|can't lock file '[^']*' - got timeout/;

export function lockOf(detail: string): string | undefined {
  return /CT is locked \(([^)]*)\)/.exec(detail)?.[1];
}
