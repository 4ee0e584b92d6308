import type { ApplyReportEntry } from '../core/errors.js';
import { ApplyError, InternalError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import { orderFor } from '../plan/apply-order.js';
import type { Change, Plan } from '../plan/types.js';
import { TUNNEL_ID_PLACEHOLDER } from '../plan/types.js';
import type { TunnelCredentials } from '../ports/cloudflare.js';
import type { ConnectorHost } from '../ports/connector.js';
import type { Ports } from '../sync/ports.js';
import { ExecutorContext } from './executor-context.js';
import { failedChange } from './failed-change.js';
import type { Executor } from './executors/executor.js';
import { EXECUTORS } from './executors/index.js';
import type { StopRequest } from './stop-request.js';
import { ApplyInterrupted } from './stop-request.js';

export interface ApplyContext {
  inventory: Inventory;
  ports: Ports;
  reporter: Reporter;
  /** Connection opened while reading, if the connector was reachable then. */
  host: ConnectorHost | undefined;
  /** Every connection opened while reading, by connector hostname (replicas); `host` is the first's. */
  hosts?: ReadonlyMap<string, ConnectorHost>;
  /** How long to wait for the connector LXC to get an address. */
  ipTimeoutMs?: number;
  /** How long to wait for another sync's lock on the connector. */
  lockWaitMs?: number;
  /** How long to wait for the restarted connector to show up as tunnel connections. */
  tunnelConnectTimeoutMs?: number;
  /** Checked between changes: a Ctrl-C stops the apply there (ApplyInterrupted). */
  stop?: StopRequest;
  /** Rolling restart: how long a restarted replica's `/ready` may take to answer 200. */
  healthTimeoutMs?: number;
  /** The existing tunnel's credentials if the read recovered them (saves a second token fetch). */
  credentials?: TunnelCredentials;
  /** The command whose re-run finishes an interrupted apply (named in the failure report). */
  command?: 'sync' | 'destroy';
}

export interface ApplyResult {
  applied: ApplyReportEntry[];
  /** The connection used (left open for the convergence re-read; the caller closes it). */
  host: ConnectorHost | undefined;
  /** Every connection open after apply, by connector hostname; the caller closes them. */
  hosts: Map<string, ConnectorHost>;
  tunnelId: string;
  restarted: boolean;
}

/**
 * Execute the plan that was shown: walk APPLY_ORDER (the table computePlan sorted the plan
 * by) and hand each row's non-noop changes to the executor of its kind. Stops at the first
 * failure and throws ApplyError naming the change that failed (with the remote system's
 * message), what was applied before it and what is pending. Every executor checks before it
 * acts, so re-running sync completes the job.
 */
export async function applyPlan(plan: Plan, options: ApplyContext): Promise<ApplyResult> {
  const { inventory, ports, reporter } = options;
  const tunnelId = plan.changes.find((c) => c.kind === 'tunnel')?.after?.id ?? TUNNEL_ID_PLACEHOLDER;
  const ctx = new ExecutorContext(
    inventory,
    ports,
    reporter,
    {
      ipTimeoutMs: options.ipTimeoutMs ?? 120_000,
      lockWaitMs: options.lockWaitMs ?? 10_000,
      tunnelConnectTimeoutMs: options.tunnelConnectTimeoutMs ?? 20_000,
      healthTimeoutMs: options.healthTimeoutMs ?? inventory.connector.healthTimeoutSeconds * 1000,
    },
    tunnelId,
    options.hosts ?? new Map(options.host ? [[inventory.connector.hostname, options.host]] : []),
  );
  if (options.credentials?.tunnelId === tunnelId) ctx.credentials = options.credentials;

  const toDo = plan.changes.filter((c) => c.action !== 'noop');
  const order = orderFor(options.command ?? 'sync');
  const rows = order.map((row) => toDo.filter((c) => c.kind === row.kind && row.actions.some((a) => a === c.action)));
  const unordered = toDo.filter((c) => !rows.some((r) => r.includes(c)));
  if (unordered.length > 0) {
    throw new InternalError(`no apply-order row for ${unordered.map((c) => `${c.address} (${c.action})`).join(', ')}`);
  }

  // In the order executors complete them (a staged file lands with the deploy of its connector).
  const applied = new Set<Change>();
  const walked = new Set<Change>();
  const entry = (c: Change): ApplyReportEntry => ({ address: c.address, action: c.action });
  const collect = () => {
    for (const c of walked) if (ctx.isCompleted(c)) applied.add(c);
  };
  let failed = true;
  try {
    for (let i = 0; i < order.length; i++) {
      const changes = rows[i]!;
      if (changes.length === 0) continue;
      if (options.stop?.requested) {
        throw new ApplyInterrupted(options.stop.reason!, [...applied].map(entry), toDo.filter((c) => !ctx.isCompleted(c)).map(entry));
      }
      for (const c of changes) walked.add(c);
      const executor = EXECUTORS[order[i]!.kind] as Executor<Change>;
      try {
        await executor.apply(changes, ctx);
      } catch (err) {
        collect();
        const notLanded = (list: readonly Change[]) => list.filter((c) => !ctx.isCompleted(c));
        const stoppedAt = failedChange(
          err,
          notLanded(changes).length > 0 ? notLanded(changes) : [changes[changes.length - 1]!],
          notLanded(toDo),
        );
        const pending = toDo.filter((c) => c !== stoppedAt && !ctx.isCompleted(c));
        throw new ApplyError([...applied].map(entry), { ...entry(stoppedAt), error: describe(err) }, pending.map(entry), options.command, {
          cause: err,
        });
      }
      collect();
    }
    const undeployed = ctx.undeployed();
    if (undeployed.length > 0)
      throw new InternalError(`files staged for ${undeployed.join(', ')} were never deployed: the plan lacks a unit change`);
    failed = false;
  } finally {
    await ctx.finish(failed);
  }
  return {
    applied: [...applied].map(entry),
    host: ctx.hostOf(inventory.connector.hostname),
    hosts: ctx.openHosts(),
    tunnelId: ctx.tunnelId,
    restarted: ctx.restarted,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
