/**
 * Typed errors. `cli/main.ts` maps them to output and exit codes in one place;
 * core code never prints and never calls process.exit.
 */
export class ProxflareError extends Error {
  override name = this.constructor.name;
}

/** Something the user can fix; the message is shown verbatim, without a stack. */
export class UserError extends ProxflareError {}

/** One problem in an input file, located precisely. */
export interface InventoryIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field, e.g. `guests[1].services[0].port`. */
  field: string;
  message: string;
  /** How to fix it. */
  hint?: string;
}

export function formatIssue(i: InventoryIssue): string {
  const where = `${i.file}:${i.line}:${i.column}`;
  const field = i.field ? ` ${i.field}:` : '';
  return `${where}${field} ${i.message}${i.hint ? ` (${i.hint})` : ''}`;
}

/** How many problems the message lists; a garbage file can produce thousands. */
export const MAX_LISTED_ISSUES = 20;

/** Every problem found in the inventory, reported at once (the message lists the first 20). */
export class InventoryError extends UserError {
  constructor(readonly issues: InventoryIssue[]) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `  ${formatIssue(i)}`);
    const more = issues.length - listed.length;
    super(
      `${issues.length} problem${issues.length === 1 ? '' : 's'} in the inventory:\n` +
        listed.join('\n') +
        (more > 0 ? `\n  … and ${more} more (fix these first; the file may not be an inventory at all)` : ''),
    );
  }
}

/** A planning error: the plan cannot be computed safely (unresolvable IP, conflicting records, ...). */
export class PlanError extends UserError {
  constructor(readonly problems: string[]) {
    super(`cannot plan (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` + problems.map((p) => `  - ${p}`).join('\n'));
  }
}

export type System = 'proxmox' | 'cloudflare' | 'ssh';

/** A remote system failed. The cause is always attached; `hint` says what to do. */
export class ProviderError extends ProxflareError {
  constructor(
    readonly system: System,
    readonly operation: string,
    readonly detail: string,
    readonly hint?: string,
    options?: { cause?: unknown; status?: number; subject?: string },
  ) {
    super(`${system}: ${operation} failed: ${detail}${hint ? `\n  hint: ${hint}` : ''}`, options);
    this.status = options?.status;
    this.subject = options?.subject;
  }
  readonly status: number | undefined;
  /**
   * The managed path the failure is about when one operation handles several (a deploy whose
   * config cloudflared rejected), so the report names that file's change, not the operation's.
   */
  readonly subject: string | undefined;
}

export interface ApplyReportEntry {
  address: string;
  action: string;
}

/** Apply stopped at the first failure; says what was applied, what failed and what is pending. */
export class ApplyError extends ProxflareError {
  constructor(
    readonly applied: ApplyReportEntry[],
    readonly failed: ApplyReportEntry & { error: string },
    readonly pending: ApplyReportEntry[],
    /** The command that finishes the job when re-run. */
    readonly command: 'sync' | 'destroy' = 'sync',
    options?: { cause?: unknown },
  ) {
    super(`apply failed at ${failed.address}: ${failed.error}`, options);
  }
}

/** Ends the CLI with a specific exit code and no message (e.g. --detailed-exitcode). */
export class ExitError extends ProxflareError {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** A bug in proxflare. */
export class InternalError extends ProxflareError {}
