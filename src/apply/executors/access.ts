import { constants } from 'node:fs';
import { access as fsAccess, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InternalError, ProxflareError } from '../../core/errors.js';
import type { CloudflareAccess } from '../../ports/access.js';
import type { AccessAppChange, AccessPolicyChange, ServiceTokenChange } from '../../plan/access-changes.js';
import { POLICY_REF, TOKEN_REF } from '../../plan/access-changes.js';
import { ACCESS_TAG } from '../../plan/plan-access.js';
import type { ExecutorContext } from '../executor-context.js';
import { oneByOne, type Executor } from './executor.js';

/**
 * Executors for the Access change kinds. Each learns ids this plan creates (policy and token
 * ids, the aud of a new app) into `resolved`, which later steps read: an app links the policy
 * created just before it, and the connector config gets the aud of the app created before it
 * (the fail-closed order: policy → app → aud → config + restart → DNS).
 */

/** Service tokens (created once: the secret exists only in the create answer), then written to their file. */
export const serviceTokenExecutor: Executor<ServiceTokenChange> = oneByOne((change, ctx) =>
  applyServiceToken(change, accessPort(ctx, change.address), ctx),
);
export const accessPolicyExecutor: Executor<AccessPolicyChange> = oneByOne((change, ctx) =>
  applyPolicy(change, accessPort(ctx, change.address), ctx),
);
export const accessAppExecutor: Executor<AccessAppChange> = oneByOne((change, ctx) =>
  applyApp(change, accessPort(ctx, change.address), ctx),
);

function accessPort(ctx: ExecutorContext, address: string): CloudflareAccess {
  if (!ctx.ports.access) throw new InternalError(`${address}: no Access adapter`);
  return ctx.ports.access;
}

/** Replace every placeholder this apply has resolved, wherever it appears as a whole string. */
export function resolvePlaceholders<T>(value: T, resolved: Map<string, string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (resolved.has(v)) return resolved.get(v);
      if (v.startsWith(POLICY_REF) || v.startsWith(TOKEN_REF))
        throw new InternalError(`unresolved reference ${v}: the object it names was not created first`);
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Substitute resolved values (aud placeholders) inside a file's text. */
export function resolveInText(text: string, resolved: Map<string, string>): string {
  let out = text;
  for (const [placeholder, value] of resolved) if (!placeholder.startsWith('@')) out = out.split(placeholder).join(value);
  return out;
}

async function applyServiceToken(change: ServiceTokenChange, access: CloudflareAccess, ctx: ExecutorContext): Promise<void> {
  if (change.action === 'delete') {
    ctx.reporter.step(change.address, 'deleting service token');
    await access.deleteServiceToken(change.accountId, change.id!);
    ctx.reporter.done(change.address);
    return;
  }
  if (change.action !== 'create') return;
  const file = change.secretFile!;
  // Checked before the token exists: its secret is shown once, and it must land somewhere.
  if (await exists(file)) {
    throw new ProxflareError(
      `${file} already exists; proxflare never overwrites a secret file (move it away, or point access.serviceTokens[].secretFile elsewhere)`,
    );
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  ctx.reporter.step(change.address, 'creating service token');
  const created = await access.createServiceToken(change.accountId, change.after!.name, change.duration);
  const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    const secret = created.clientSecret.reveal();
    await handle.writeFile(
      `${JSON.stringify(
        {
          name: created.token.name,
          client_id: created.token.clientId,
          client_secret: secret,
          headers: { 'CF-Access-Client-Id': created.token.clientId, 'CF-Access-Client-Secret': secret },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await handle.close();
  }
  ctx.resolved.set(`${TOKEN_REF}${change.token}`, created.token.id);
  ctx.reporter.done(change.address, `client id ${created.token.clientId}; secret written to ${file} (0600)`);
}

async function applyPolicy(change: AccessPolicyChange, access: CloudflareAccess, ctx: ExecutorContext): Promise<void> {
  if (change.action === 'delete') {
    ctx.reporter.step(change.address, 'deleting Access policy');
    await access.deletePolicy(change.accountId, change.id!);
    ctx.reporter.done(change.address);
    return;
  }
  if (change.action === 'noop' || !change.body) return;
  const body = resolvePlaceholders(change.body, ctx.resolved);
  ctx.reporter.step(change.address, change.action === 'create' ? 'creating Access policy' : 'updating Access policy');
  const policy =
    change.action === 'create'
      ? await access.createPolicy(change.accountId, body)
      : await access.updatePolicy(change.accountId, change.id!, body);
  ctx.resolved.set(`${POLICY_REF}${change.policy}`, policy.id);
  ctx.reporter.done(change.address, `id ${policy.id}`);
}

const taggedAccounts = new WeakMap<Map<string, string>, Set<string>>();

async function applyApp(change: AccessAppChange, access: CloudflareAccess, ctx: ExecutorContext): Promise<void> {
  if (change.action === 'delete') {
    ctx.reporter.step(change.address, 'deleting Access application');
    await access.deleteApp(change.accountId, change.id!);
    ctx.reporter.done(change.address);
    return;
  }
  if (change.action === 'noop' || !change.body) return;
  const tagged = taggedAccounts.get(ctx.resolved) ?? new Set<string>();
  taggedAccounts.set(ctx.resolved, tagged);
  if (!tagged.has(change.accountId)) {
    await access.ensureTag(change.accountId, ACCESS_TAG);
    tagged.add(change.accountId);
  }
  const body = resolvePlaceholders(change.body, ctx.resolved);
  ctx.reporter.step(change.address, change.action === 'create' ? 'creating Access application' : 'updating Access application');
  const app =
    change.action === 'create'
      ? await access.createApp(change.accountId, body)
      : await access.updateApp(change.accountId, change.id!, body);
  ctx.resolved.set(change.audPlaceholder, app.aud);
  ctx.reporter.done(change.address, `aud ${app.aud}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsAccess(path);
    return true;
  } catch {
    return false;
  }
}
