import type { DnsChangeSet, NewDnsRecord } from '../ports/cloudflare.js';

/** Operations per batch on the Free plan (paid plans allow 3,500; 200 is safe everywhere). */
export const FREE_PLAN_BATCH_LIMIT = 200;

export type DnsOperation =
  { kind: 'delete'; id: string; name: string } | { kind: 'put'; id: string; record: NewDnsRecord } | { kind: 'post'; record: NewDnsRecord };

export function operationName(op: DnsOperation): string {
  return op.kind === 'delete' ? op.name : op.record.name;
}

/**
 * Deletes first, then overwrites, then creates — the order Cloudflare runs inside one batch,
 * kept across batches too, so a name freed by a delete exists before a create reuses it.
 */
export function toOperations(changes: DnsChangeSet): DnsOperation[] {
  return [
    ...changes.deletes.map((d): DnsOperation => ({ kind: 'delete', id: d.id, name: d.name })),
    ...changes.updates.map((u): DnsOperation => ({ kind: 'put', id: u.id, record: u.record })),
    ...changes.creates.map((record): DnsOperation => ({ kind: 'post', record })),
  ];
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function recordParam(r: NewDnsRecord): { type: 'CNAME'; name: string; content: string; proxied: true; ttl: 1; comment: string } {
  return { type: 'CNAME', name: r.name, content: r.content, proxied: true, ttl: 1, comment: r.comment };
}

/** The body of one `POST /dns_records/batch`; empty lists are left out. */
export function batchBody(ops: DnsOperation[]): {
  deletes?: { id: string }[];
  puts?: (ReturnType<typeof recordParam> & { id: string })[];
  posts?: ReturnType<typeof recordParam>[];
} {
  const deletes = ops.flatMap((o) => (o.kind === 'delete' ? [{ id: o.id }] : []));
  const puts = ops.flatMap((o) => (o.kind === 'put' ? [{ id: o.id, ...recordParam(o.record) }] : []));
  const posts = ops.flatMap((o) => (o.kind === 'post' ? [recordParam(o.record)] : []));
  return {
    ...(deletes.length > 0 ? { deletes } : {}),
    ...(puts.length > 0 ? { puts } : {}),
    ...(posts.length > 0 ? { posts } : {}),
  };
}
