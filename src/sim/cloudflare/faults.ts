/** Fault injection, switchable per test and per path. */

export interface FaultTarget {
  /** Substring of the path below /client/v4, or a RegExp tested against it. */
  path?: string | RegExp;
  method?: string;
  /** Substring of the raw query string, e.g. `page=2`. */
  query?: string;
}

export type FaultAction =
  | { kind: 'rate-limit'; retryAfter: number }
  | { kind: 'server-error'; status: number }
  | { kind: 'drop' }
  | { kind: 'drop-answer' }
  | { kind: 'latency'; ms: number };

interface FaultRule extends FaultTarget {
  action: FaultAction;
  remaining: number;
}

export class SimFaults {
  /** Added to every request. */
  latencyMs = 0;
  readonly #rules: FaultRule[] = [];

  /** The next `count` matching requests get 429 with `Retry-After: retryAfter` seconds (default 1). */
  rateLimit(count: number, options: FaultTarget & { retryAfter?: number } = {}): void {
    this.#rules.push({ ...options, action: { kind: 'rate-limit', retryAfter: options.retryAfter ?? 1 }, remaining: count });
  }

  /** The next `count` matching requests fail with a 5xx (default 500). */
  serverError(count: number, options: FaultTarget & { status?: number } = {}): void {
    this.#rules.push({ ...options, action: { kind: 'server-error', status: options.status ?? 500 }, remaining: count });
  }

  /** The next `count` matching requests have their connection closed without a response. */
  dropConnection(count: number, options: FaultTarget = {}): void {
    this.#rules.push({ ...options, action: { kind: 'drop' }, remaining: count });
  }

  /**
   * The next `count` matching requests are carried out, then their connection is closed before
   * the answer is sent: the client cannot know whether the write happened.
   */
  dropAnswer(count: number, options: FaultTarget = {}): void {
    this.#rules.push({ ...options, action: { kind: 'drop-answer' }, remaining: count });
  }

  /** Extra latency for matching requests (all of them unless `count`). */
  latency(ms: number, options: FaultTarget & { count?: number } = {}): void {
    this.#rules.push({ ...options, action: { kind: 'latency', ms }, remaining: options.count ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#rules.length = 0;
    this.latencyMs = 0;
  }

  /** Consumes and returns the faults that apply to this request (latency first). */
  take(method: string, path: string, query = ''): FaultAction[] {
    const out: FaultAction[] = [];
    let failure = false;
    for (const rule of this.#rules) {
      if (rule.remaining <= 0 || !matches(rule, method, path, query)) continue;
      if (rule.action.kind !== 'latency') {
        if (failure) continue;
        failure = true;
      }
      rule.remaining--;
      out.push(rule.action);
    }
    return out.sort((a, b) => (a.kind === 'latency' ? -1 : 0) - (b.kind === 'latency' ? -1 : 0));
  }
}

function matches(rule: FaultTarget, method: string, path: string, query: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.query !== undefined && !query.includes(rule.query)) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path);
}
