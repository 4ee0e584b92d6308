/**
 * Fault injection, switchable per test. Each rule matches requests by method and path
 * (the part after /api2/json) and is consumed `times` times (default once).
 */
export interface RequestMatch {
  method?: string;
  /** Exact path, or a RegExp tested against it. */
  path?: string | RegExp;
}

interface Rule<T> {
  match: RequestMatch;
  remaining: number;
  action: T;
}

export interface FailAction {
  status: number;
  /** Reason / message; omitted for 59x-style answers without a body. */
  message?: string;
  /** Answer with this Content-Type instead of the real one (pitfall: exact match). */
  contentType?: string;
}

export type DropWhen = 'before' | 'after';

/**
 * A task kept running until the test releases it: the test drives the task clock by events
 * instead of sleeping (e.g. a re-run that starts while `vzcreate` is still unpacking).
 */
export interface TaskHold {
  /** Resolves with the UPID once a task of this type started and is being held. */
  started: Promise<string>;
  /** Let the held task run to its end. */
  release(): void;
}

interface PendingHold {
  type: string;
  started: (upid: string) => void;
  released: Promise<void>;
}

export class SimFaults {
  /** Extra latency for every request, in ms. */
  latencyMs = 0;
  private failRules: Rule<FailAction>[] = [];
  private dropRules: Rule<DropWhen>[] = [];
  private latencyRules: Rule<number>[] = [];
  private taskFailures: { type: string; message: string }[] = [];
  private holds: PendingHold[] = [];
  private flockTimeouts = 0;
  private hooks: { match: RequestMatch; skip: number; run: () => Promise<void> }[] = [];
  /** Nodes switched offline by a test (in addition to the seed). */
  readonly offline = new Set<string>();

  /** Answer matching requests with an error status (5xx, 4xx, or a wrong Content-Type). */
  failNext(match: RequestMatch, action: FailAction, times = 1): void {
    this.failRules.push({ match, remaining: times, action });
  }

  /**
   * Destroy the connection of matching requests: `before` the handler runs (nothing applied)
   * or `after` it (applied, but the client never learns the answer).
   */
  dropNext(match: RequestMatch, when: DropWhen = 'after', times = 1): void {
    this.dropRules.push({ match, remaining: times, action: when });
  }

  delayNext(match: RequestMatch, ms: number, times = 1): void {
    this.latencyRules.push({ match, remaining: times, action: ms });
  }

  /**
   * The next `vzcreate` worker cannot get the container's flock within 10 s: its work never runs
   * and nothing removes the config, so a `lock: create`-only CT is left behind (README-pve §4.14,
   * pve-container create_vm `$realcmd`).
   */
  flockTimeoutNextCreate(): void {
    this.flockTimeouts++;
  }

  takeFlockTimeout(type: string): boolean {
    if (type !== 'vzcreate' || this.flockTimeouts === 0) return false;
    this.flockTimeouts--;
    return true;
  }

  /** The next task of this type (vzcreate, download, vzstart, ...) ends with this error. */
  failNextTask(type: string, message: string): void {
    this.taskFailures.push({ type, message });
  }

  /**
   * Run `run` (and wait for it) when a matching request arrives, before it is handled; after
   * `skip` matching requests have passed untouched. The test plays a second client at exactly
   * that moment (another machine creating the connector as ours arrives), by event, not timing.
   */
  interceptNext(match: RequestMatch, run: () => Promise<void>, skip = 0): void {
    this.hooks.push({ match, skip, run });
  }

  takeHook(method: string, path: string): (() => Promise<void>) | undefined {
    const i = this.hooks.findIndex((h) => matches(h.match, method, path));
    if (i < 0) return undefined;
    const hook = this.hooks[i]!;
    if (hook.skip > 0) {
      hook.skip--;
      return undefined;
    }
    this.hooks.splice(i, 1);
    return hook.run;
  }

  /** The next task of this type stays `running` (its work not done) until `release()`. */
  holdNextTask(type: string): TaskHold {
    let started!: (upid: string) => void;
    let release!: () => void;
    const startedP = new Promise<string>((r) => (started = r));
    const released = new Promise<void>((r) => (release = r));
    this.holds.push({ type, started, released });
    return { started: startedP, release };
  }

  /** Consumed by the simulator when a task starts. */
  takeHold(type: string, upid: string): Promise<void> | undefined {
    const i = this.holds.findIndex((h) => h.type === type);
    if (i < 0) return undefined;
    const hold = this.holds.splice(i, 1)[0]!;
    hold.started(upid);
    return hold.released;
  }

  setNodeOffline(node: string, offline = true): void {
    if (offline) this.offline.add(node);
    else this.offline.delete(node);
  }

  clear(): void {
    this.latencyMs = 0;
    this.failRules = [];
    this.dropRules = [];
    this.latencyRules = [];
    this.taskFailures = [];
    this.holds = [];
    this.hooks = [];
    this.flockTimeouts = 0;
    this.offline.clear();
  }

  takeFail(method: string, path: string): FailAction | undefined {
    return take(this.failRules, method, path);
  }

  takeDrop(method: string, path: string): DropWhen | undefined {
    return take(this.dropRules, method, path);
  }

  takeLatency(method: string, path: string): number {
    return this.latencyMs + (take(this.latencyRules, method, path) ?? 0);
  }

  takeTaskFailure(type: string): string | undefined {
    const i = this.taskFailures.findIndex((f) => f.type === type);
    if (i < 0) return undefined;
    return this.taskFailures.splice(i, 1)[0]!.message;
  }
}

function matches(m: RequestMatch, method: string, path: string): boolean {
  if (m.method && m.method.toUpperCase() !== method) return false;
  if (m.path === undefined) return true;
  return typeof m.path === 'string' ? m.path === path : m.path.test(path);
}

function take<T>(rules: Rule<T>[], method: string, path: string): T | undefined {
  const rule = rules.find((r) => r.remaining > 0 && matches(r.match, method, path));
  if (!rule) return undefined;
  rule.remaining--;
  return rule.action;
}
