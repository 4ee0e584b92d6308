import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'cloudflare/core/error';
import { ProviderError } from '../core/errors.js';

/** Token permissions as the dashboard names them (My Profile → API Tokens). */
export const TOKEN_PERMISSIONS = {
  tunnel: 'Account: Cloudflare Tunnel Edit',
  dns: 'Zone: DNS Edit',
  zone: 'Zone: Zone Read',
  // Access (docs account-permissions-table.mdx; API names end in Write instead of Edit).
  accessApps: 'Access: Apps and Policies Edit',
  accessOrg: 'Access: Organizations, Identity Providers, and Groups Read',
  accessTokens: 'Access: Service Tokens Edit',
} as const;

export type PermissionKey = keyof typeof TOKEN_PERMISSIONS;

export interface CallContext {
  /** Says what was attempted and on which resource: `create tunnel homelab`, `list DNS records of zone example.com`. */
  operation: string;
  /** The permission this call needs. */
  permission: PermissionKey;
  /** Where the permission must apply: `account 0123…`, `zone example.com`. */
  scope: string;
}

interface ErrorItem {
  code?: number;
  message?: string;
  error_chain?: ErrorItem[];
}

/** "81053 An A, AAAA, or CNAME record ... (9313 ...)" from the API's error list; never the raw body. */
export function describeApiErrors(errors: unknown): string {
  if (!Array.isArray(errors) || errors.length === 0) return '';
  const one = (e: ErrorItem): string => {
    const chain = Array.isArray(e.error_chain) && e.error_chain.length > 0 ? ` (${e.error_chain.map(one).join('; ')})` : '';
    return `${e.code ?? '?'} ${e.message ?? ''}`.trim() + chain;
  };
  return (errors as ErrorItem[]).map(one).join('; ');
}

export function apiErrorCodes(err: unknown): number[] {
  if (!(err instanceof APIError) || !Array.isArray(err.errors)) return [];
  const out: number[] = [];
  const walk = (items: ErrorItem[]): void => {
    for (const e of items) {
      if (typeof e.code === 'number') out.push(e.code);
      if (Array.isArray(e.error_chain)) walk(e.error_chain);
    }
  };
  walk(err.errors as ErrorItem[]);
  return out;
}

/** 6003 (invalid request headers) with 6111 (Authorization header format) anywhere in the chain. */
function isMalformedTokenError(err: unknown): boolean {
  const codes = apiErrorCodes(err);
  return codes.includes(6111) || (codes.includes(6003) && !codes.includes(6103));
}

/** ` (HTTP 409: 1013 You already ...)`, or ` (HTTP 409)` when the API sent no error items. */
export function httpDetail(status: number, errors: unknown): string {
  const codes = describeApiErrors(errors);
  return `(HTTP ${status}${codes ? `: ${codes}` : ''})`;
}

/**
 * Turns an SDK error into a ProviderError that names the resource and the fix.
 * Messages are built from status and error codes only: the SDK's own message embeds
 * the raw response body, which we do not want to echo.
 */
export function toProviderError(err: unknown, ctx: CallContext, extraHint?: string): ProviderError {
  if (err instanceof ProviderError) return err;
  const permission = TOKEN_PERMISSIONS[ctx.permission];
  if (err instanceof APIConnectionTimeoutError) {
    return new ProviderError('cloudflare', ctx.operation, 'the Cloudflare API did not answer in time', 'check the network and retry', {
      cause: err,
    });
  }
  if (err instanceof APIConnectionError) {
    return new ProviderError(
      'cloudflare',
      ctx.operation,
      'could not reach the Cloudflare API (connection failed)',
      'check the network (DNS, proxy, firewall) and cloudflare.baseUrl if set, then retry',
      { cause: err },
    );
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const detail = (text: string): string => `${text} ${httpDetail(status, err.errors)}`;
    const opts = { cause: err, status };
    // A token that is not even shaped like one (a stray quote, space or a truncated paste) gets
    // 400 "6003 Invalid request headers" with 6111 "Invalid format for Authorization header" in
    // its chain, not 401 (jeessy2/ddns-go#916, cloudflare/workers-sdk#5175).
    if (status === 400 && isMalformedTokenError(err)) {
      return new ProviderError(
        'cloudflare',
        ctx.operation,
        detail('the API token is malformed (copy it again)'),
        'copy the token again from the Cloudflare dashboard (My Profile → API Tokens) into CLOUDFLARE_API_TOKEN (cloudflare.apiToken), without quotes or spaces; it is a bearer API token, not the Global API Key',
        opts,
      );
    }
    if (status === 401) {
      return new ProviderError(
        'cloudflare',
        ctx.operation,
        detail('the API token was not accepted'),
        `check CLOUDFLARE_API_TOKEN (cloudflare.apiToken): it must be a valid, unexpired API token (not the Global API Key) with the "${permission}" permission for ${ctx.scope}`,
        opts,
      );
    }
    if (status === 403) {
      return new ProviderError(
        'cloudflare',
        ctx.operation,
        detail(`the API token lacks the "${permission}" permission for ${ctx.scope}`),
        `edit the token in the Cloudflare dashboard (My Profile → API Tokens) and add "${permission}" for ${ctx.scope}`,
        opts,
      );
    }
    if (status === 429) {
      const after = err.headers?.get('retry-after');
      return new ProviderError(
        'cloudflare',
        ctx.operation,
        detail('rate limited by Cloudflare'),
        `Cloudflare blocks a token for up to 5 minutes after too many requests${after ? ` (it asked to wait ${after}s)` : ''}; wait and re-run`,
        opts,
      );
    }
    if (status >= 500) {
      return new ProviderError(
        'cloudflare',
        ctx.operation,
        detail('the Cloudflare API failed'),
        "this is on Cloudflare's side; retry later",
        opts,
      );
    }
    return new ProviderError('cloudflare', ctx.operation, detail('the Cloudflare API refused the request'), extraHint, opts);
  }
  return new ProviderError('cloudflare', ctx.operation, err instanceof Error ? err.message : String(err), undefined, { cause: err });
}
