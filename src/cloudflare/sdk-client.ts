import type Cloudflare from 'cloudflare';
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

/**
 * The one way every adapter builds its SDK client: API token only, guarded fetch, no SDK logging.
 *
 * Loading the SDK costs ~0.5 s of CPU: its entry point loads ~1,100 resource modules (and its
 * `tree-shakable` entry imports the same client module, so it is no lighter without a bundler).
 * So it is loaded when an adapter is created, without waiting for it: a sync reads Proxmox
 * while the SDK loads, and each Cloudflare call awaits the client.
 */
export function createSdkClient(settings: CloudflareSettings, options: SdkClientOptions): Promise<Cloudflare> {
  const client = import('cloudflare').then(({ default: Sdk }) => build(Sdk, settings, options));
  // Observed here, so an adapter that is never called cannot leave an unhandled rejection; each call still sees the error.
  client.catch(() => undefined);
  return client;
}

function build(Sdk: typeof Cloudflare, settings: CloudflareSettings, options: SdkClientOptions): Cloudflare {
  return new Sdk({
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
