import { AsyncLocalStorage } from 'node:async_hooks';
import proxmoxApi, { type Proxmox } from 'proxmox-api';
import type { Agent, Dispatcher, RequestInit, Response } from 'undici';
import { ProviderError, UserError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { ProxmoxSettings } from '../inventory/types.js';
import { isTransient, mapError, type WireOutcome } from './map-error.js';
import { createDispatcher } from './tls-dispatcher.js';
import { exchange } from './wire-exchange.js';

export interface ApiClientOptions {
  reporter: Reporter;
  /** Per-request deadline (ms). */
  timeoutMs: number;
  /** Attempts for idempotent reads on transient failures (1 = no retry). */
  readAttempts: number;
  /** First backoff delay; doubles per attempt. */
  retryDelayMs: number;
}

export interface CallOptions {
  /** Named in a bare 403 (LXC create answers just "Permission check failed"). */
  privilegeHint?: string;
}

const TOKEN_ID_RE = /^[^\s:/]+@[^\s:/!]+![A-Za-z][A-Za-z0-9.\-_]+$/;
const TOKEN_SECRET_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The part of a `Response` proxmox-api reads (ProxmoxEngine.doRequest: status, statusText, the
 * content-type header, json() or text()), over a body already read. undici's own `Response`
 * builds a WHATWG stream, a Headers object and a transferable per answer: ~0.1 ms of CPU each,
 * paid a thousand times in a no-op plan of a 1,000-guest homelab, while every request waits.
 */
function bufferedResponse(status: number, statusText: string, contentType: string | null, body: string): Response {
  const answer = {
    status,
    statusText,
    ok: status >= 200 && status < 300,
    headers: { get: (name: string) => (name.toLowerCase() === 'content-type' ? contentType : null) },
    text: () => Promise.resolve(body),
    json: () => Promise.resolve(JSON.parse(body) as unknown),
  };
  return answer as unknown as Response;
}

/**
 * The `proxmox-api` typed client, with its HTTP engine kept but its pitfalls removed
 * (README-pve §9): the wrapped `fetch` never throws, so the engine's retry-once never resends
 * a POST and its abort timer is always cleared (a CLI exits promptly after a failure); what
 * went over the wire is recorded per call (AsyncLocalStorage) so errors are mapped from the
 * status, reason and `errors` map instead of regex-parsing the package's message strings.
 */
export class PveApiClient {
  readonly #api: Proxmox.Api;
  private readonly dispatcher: Agent;
  private readonly wire = new AsyncLocalStorage<WireOutcome[]>();
  readonly endpoint: string;

  constructor(
    private readonly settings: ProxmoxSettings,
    private readonly options: ApiClientOptions,
  ) {
    const secret = settings.tokenSecret.reveal();
    // Checked here so the package never console.errors and so the message says what to fix.
    if (!TOKEN_ID_RE.test(settings.tokenId))
      throw new UserError(
        `proxmox.tokenId "${settings.tokenId}" is not an API token id: expected user@realm!tokenname, e.g. proxflare@pve!cli`,
      );
    if (!TOKEN_SECRET_RE.test(secret))
      throw new UserError(
        'proxmox.tokenSecret is not a Proxmox API token secret: expected a lower-case UUID (shown once by `pveum user token add`)',
      );
    if (!Number.isInteger(settings.port) || settings.port <= 0)
      throw new UserError(`proxmox.url must carry an explicit port (https://<host>:8006), got ${settings.port}`);
    this.endpoint = `${settings.protocol}://${settings.host}:${settings.port}`;
    if (settings.insecure)
      options.reporter.warn(
        `TLS verification for ${this.endpoint} is DISABLED (proxmox.insecure): anyone on the path can read the API token. Pin the certificate with proxmox.fingerprint instead.`,
      );
    this.dispatcher = createDispatcher({
      fingerprint: settings.insecure ? undefined : settings.fingerprint,
      insecure: settings.insecure,
      connectTimeoutMs: Math.min(options.timeoutMs, 10_000),
    });
    this.#api = proxmoxApi({
      host: settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host,
      // The package documents a default of 8006 but applies none (README-pve §9.1).
      port: settings.port,
      schema: settings.protocol,
      tokenID: settings.tokenId,
      tokenSecret: secret,
      queryTimeout: options.timeoutMs * 2,
      fetch: (url, init) => this.fetch(url, init),
    });
  }

  /**
   * The `fetch` the package calls: one exchange on our dispatcher (see wire-exchange.ts for why
   * not undici's `fetch`), answered with a buffered `Response`, which is all the package reads.
   */
  private async fetch(url: string | URL, init?: RequestInit): Promise<Response> {
    const u = new URL(String(url));
    const method = (init?.method ?? 'GET').toUpperCase();
    const outcome: WireOutcome = { method, path: u.pathname.replace(/^\/api2\/json/, '') };
    this.wire.getStore()?.push(outcome);
    // -v: method, path (no query), status and duration; never the token header or the body.
    const call = `proxmox ${method} ${outcome.path}`;
    const started = performance.now();
    try {
      const answer = await exchange(
        this.dispatcher,
        {
          origin: u.origin,
          path: `${u.pathname}${u.search}`,
          method: method as Dispatcher.HttpMethod,
          ...(init?.headers ? { headers: init.headers as Record<string, string> } : {}),
          ...(typeof init?.body === 'string' ? { body: init.body } : {}),
        },
        { ms: this.options.timeoutMs, error: () => new Error(`no answer from ${this.endpoint} within ${this.options.timeoutMs} ms`) },
      );
      this.options.reporter.debug(`${call} → ${answer.status} (${Math.round(performance.now() - started)} ms)`);
      outcome.status = answer.status;
      outcome.statusText = answer.statusText;
      outcome.contentType = answer.contentType;
      outcome.body = answer.body;
      return bufferedResponse(answer.status, answer.statusText, answer.contentType, answer.body);
    } catch (e) {
      this.options.reporter.debug(`${call} → no answer (${Math.round(performance.now() - started)} ms)`);
      outcome.transportError = e;
      // Never throw into the package: it would send the same request again (a second POST).
      return bufferedResponse(599, 'proxflare: transport failure', null, '');
    }
  }

  /**
   * Runs one API call. Reads (GET) are retried with backoff on transient failures; writes
   * never are, because a lost answer does not mean the request was not applied.
   */
  async call<T>(
    operation: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    fn: (api: Proxmox.Api) => Promise<T>,
    opts: CallOptions = {},
  ): Promise<T> {
    const attempts = method === 'GET' ? Math.max(1, this.options.readAttempts) : 1;
    let last: ProviderError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const outcomes: WireOutcome[] = [];
      try {
        return await this.wire.run(outcomes, () => fn(this.#api));
      } catch (e) {
        const outcome = outcomes[outcomes.length - 1];
        if (!outcome) throw new ProviderError('proxmox', operation, (e as Error).message, undefined, { cause: e });
        last = mapError(outcome, { operation, tokenId: this.settings.tokenId, endpoint: this.endpoint, privilegeHint: opts.privilegeHint });
        if (!isTransient(outcome) || attempt === attempts) throw last;
        const delay = this.options.retryDelayMs * 2 ** (attempt - 1);
        this.options.reporter.debug(
          `proxmox: ${operation} failed transiently (${last.detail}); retry ${attempt}/${attempts - 1} in ${delay} ms`,
        );
        await sleep(delay);
      }
    }
    throw last!;
  }

  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}
