/** Cloudflare v4 response envelope and error shapes. */

export interface ApiErrorItem {
  code: number;
  message: string;
  error_chain?: ApiErrorItem[];
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

export interface SimResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export function ok(result: unknown, resultInfo?: ResultInfo, status = 200): SimResponse {
  return {
    status,
    body: { success: true, errors: [], messages: [], result, ...(resultInfo ? { result_info: resultInfo } : {}) },
  };
}

/** Thrown by handlers; the server turns it into the failure envelope. */
export class SimApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiErrorItem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.code} ${e.message}`).join('; '));
  }
}

export function fail(status: number, code: number, message: string, chain?: ApiErrorItem[]): SimApiError {
  return new SimApiError(status, [{ code, message, ...(chain ? { error_chain: chain } : {}) }]);
}

export function failureBody(errors: ApiErrorItem[]): unknown {
  return { success: false, errors, messages: [], result: null };
}

/** 1004 "DNS Validation Error" wrapping the specific reason, as Free zones answer for tags/comments. */
export function dnsValidation(code: number, message: string): SimApiError {
  return fail(400, 1004, 'DNS Validation Error', [{ code, message }]);
}

/**
 * Pages like the real API: `page` past the end yields an empty `result`, which is what
 * ends the SDK's auto-pagination (it ignores total_pages).
 */
export function paginate<T>(items: T[], query: URLSearchParams, defaultPerPage: number): { page: T[]; info: ResultInfo } {
  const page = Math.max(1, Math.floor(Number(query.get('page') ?? '1')) || 1);
  const perPage = Math.max(1, Math.floor(Number(query.get('per_page') ?? String(defaultPerPage))) || defaultPerPage);
  const slice = items.slice((page - 1) * perPage, page * perPage);
  return {
    page: slice,
    info: {
      page,
      per_page: perPage,
      count: slice.length,
      total_count: items.length,
      total_pages: Math.ceil(items.length / perPage),
    },
  };
}
