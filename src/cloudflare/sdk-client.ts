import Cloudflare from 'cloudflare';
import type { Reporter } from '../core/reporter.js';
import type { CloudflareSettings } from '../inventory/types.js';
import { createGuardedFetch, type FetchStats } from './guarded-fetch.js';

export interface SdkClientOptions {
  reporter: Reporter;
  maxRetries: number;
  timeoutMs?: number;
  maxRateLimitWaitSeconds?: number;
  /** Filled in by the guarded fetch: requests sent and time spent waiting on 429s. */
  stats: FetchStats;
}

/** The one way every adapter builds its SDK client: API token only, guarded fetch, no SDK logging. */
export function createSdkClient(settings: CloudflareSettings, options: SdkClientOptions): Cloudflare {
  return new Cloudflare({
    apiToken: settings.apiToken.reveal(),
    // Explicit nulls keep CLOUDFLARE_API_KEY/EMAIL from the environment out of our requests.
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    ...(settings.baseUrl ? { baseURL: settings.baseUrl } : {}),
    maxRetries: options.maxRetries,
    timeout: options.timeoutMs ?? 60_000,
    logLevel: 'off',
    fetch: createGuardedFetch({
      reporter: options.reporter,
      maxRateLimitWaitSeconds: options.maxRateLimitWaitSeconds ?? 120,
      stats: options.stats,
    }),
  });
}
