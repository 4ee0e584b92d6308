import type { SdkClient, createSdk } from './sdk-resources.js';
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
 * The SDK is loaded when an adapter is created, without waiting for it: a sync reads Proxmox
 * while it loads, and each Cloudflare call awaits the client. Only the resources proxflare calls
 * are loaded (sdk-resources.ts).
 */
export function createSdkClient(settings: CloudflareSettings, options: SdkClientOptions): Promise<SdkClient> {
  const client = import('./sdk-resources.js').then(({ createSdk }) => build(createSdk, settings, options));
  // Observed here, so an adapter that is never called cannot leave an unhandled rejection; each call still sees the error.
  client.catch(() => undefined);
  return client;
}

function build(create: typeof createSdk, settings: CloudflareSettings, options: SdkClientOptions): SdkClient {
  return create({
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
