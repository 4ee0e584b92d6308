import type { Reporter } from '../core/reporter.js';

type FetchFn = typeof globalThis.fetch;

export interface FetchStats {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Seconds of Retry-After the API has asked us to wait so far. */
  rateLimitWaitSeconds: number;
}

export interface GuardedFetchOptions {
  reporter: Reporter;
  /** Total Retry-After the adapter accepts over its lifetime before giving up (seconds). */
  maxRateLimitWaitSeconds: number;
  stats: FetchStats;
}

/** Copy of a response with one header forced, so the SDK's retry logic sees it. */
function withHeader(res: Response, name: string, value: string): Response {
  const headers = new Headers(res.headers);
  headers.set(name, value);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** Seconds a 429 asks to wait (`retry-after-ms`, `retry-after` in seconds or as a date). */
export function retryAfterSeconds(headers: Headers): number {
  const ms = Number.parseFloat(headers.get('retry-after-ms') ?? '');
  if (!Number.isNaN(ms)) return ms / 1000;
  const raw = headers.get('retry-after');
  if (raw === null) return 0;
  const s = Number.parseFloat(raw);
  if (!Number.isNaN(s)) return s;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? 0 : Math.max(0, (date - Date.now()) / 1000);
}

/**
 * Sits under the SDK: it keeps the SDK's own retry behaviour (Retry-After honoured) but
 * - stops retrying once the Retry-After waits would exceed the cap, so a 5-minute
 *   Cloudflare block fails fast with a clear message instead of hanging the CLI;
 * - never retries a 409: Cloudflare's conflicts (duplicate tunnel name) are deterministic;
 * - counts requests and logs each call at debug level (method, path, status, duration; never headers or bodies).
 */
export function createGuardedFetch(options: GuardedFetchOptions): FetchFn {
  const { reporter, stats } = options;
  return async (input, init) => {
    stats.requests++;
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const call = `cloudflare ${init?.method ?? 'GET'} ${url.pathname}${url.search}`;
    const started = performance.now();
    let res: Response;
    try {
      res = await globalThis.fetch(input, init);
    } catch (err) {
      reporter.debug(`${call} → no answer (${elapsed(started)})`);
      throw err;
    }
    reporter.debug(`${call} → ${res.status} (${elapsed(started)})`);
    if (res.status === 409) return withHeader(res, 'x-should-retry', 'false');
    if (res.status === 429) {
      const wait = retryAfterSeconds(res.headers);
      if (stats.rateLimitWaitSeconds + wait > options.maxRateLimitWaitSeconds) {
        return withHeader(res, 'x-should-retry', 'false');
      }
      stats.rateLimitWaitSeconds += wait;
      reporter.warn(`Cloudflare rate limit reached; waiting ${wait}s as asked (Retry-After)`);
    }
    return res;
  };
}

/** Milliseconds since `started`, for -v lines. */
export function elapsed(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}
