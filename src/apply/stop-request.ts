import type { ApplyReportEntry } from '../core/errors.js';
import { ProxflareError } from '../core/errors.js';

/**
 * "Stop at the next safe point": set by the CLI on SIGINT/SIGTERM, checked by the apply loop
 * between changes. The step in progress always runs to its end (each remote step either lands
 * whole or undoes itself, e.g. the deploy script restores the old files), so an interrupted
 * apply leaves nothing half-done and a re-run finishes the job.
 */
export class StopRequest {
  #reason: string | undefined;

  get requested(): boolean {
    return this.#reason !== undefined;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  request(reason: string): void {
    this.#reason ??= reason;
  }
}

/** Apply stopped on request between two changes: what was applied, what is pending. */
export class ApplyInterrupted extends ProxflareError {
  constructor(
    readonly reason: string,
    readonly applied: ApplyReportEntry[],
    readonly pending: ApplyReportEntry[],
  ) {
    super(`interrupted (${reason}) with ${pending.length} change${pending.length === 1 ? '' : 's'} pending`);
  }
}
