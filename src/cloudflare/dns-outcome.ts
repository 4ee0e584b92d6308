import { APIConnectionError, APIError } from 'cloudflare/core/error';
import type { DnsRecord } from '../ports/cloudflare.js';
import { operationName, type DnsOperation } from './dns-operations.js';

/**
 * Whether a failed write may still have been applied: no answer arrived (dropped connection,
 * timeout) or the API failed on its side (5xx). A 4xx is a definite refusal.
 */
export function isUnknownOutcome(err: unknown): boolean {
  if (err instanceof APIConnectionError) return true;
  return err instanceof APIError && typeof err.status === 'number' && err.status >= 500;
}

/** Is the effect of `op` visible in `records` (a fresh listing of the zone)? */
export function isInPlace(op: DnsOperation, records: readonly DnsRecord[]): boolean {
  if (op.kind === 'delete') return !records.some((r) => r.id === op.id);
  const want = op.record;
  const matches = (r: DnsRecord): boolean =>
    r.name === want.name.toLowerCase() &&
    r.type === want.type &&
    r.content.toLowerCase() === want.content.toLowerCase() &&
    r.proxied === want.proxied &&
    (r.comment ?? '') === want.comment;
  if (op.kind === 'put') return records.some((r) => r.id === op.id && matches(r));
  return records.some(matches);
}

export interface Reconciled {
  inPlace: DnsOperation[];
  missing: DnsOperation[];
}

export function reconcile(ops: readonly DnsOperation[], records: readonly DnsRecord[]): Reconciled {
  const inPlace: DnsOperation[] = [];
  const missing: DnsOperation[] = [];
  for (const op of ops) (isInPlace(op, records) ? inPlace : missing).push(op);
  return { inPlace, missing };
}

export function listOperations(ops: readonly DnsOperation[], max = 5): string {
  const names = ops.map((o) => `${o.kind} ${operationName(o)}`);
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}
