import { InternalError } from '../core/errors.js';
import type { Action, Change, ResourceKind } from './types.js';

/** The commands that apply a plan; a row may belong to one of them only. */
export type OrderCommand = 'sync' | 'destroy';

/** One step of the apply order: the changes of `kind` whose action is one of `actions`. */
export interface OrderRow {
  kind: ResourceKind;
  actions: readonly Exclude<Action, 'noop'>[];
  /** Why the row sits where it does; the README's order rules are these texts. */
  why: string;
  /** The row is used by this command only (the same deletes sit elsewhere in the other's order). */
  only?: OrderCommand;
}

/**
 * The apply order, written once: `computePlan` sorts the plan by it (so the dry run lists
 * changes in the order they will happen) and `applyPlan` walks it, handing each row's changes
 * to the executor of its kind. Creates and updates run in dependency order (what a change
 * needs comes before it); deletes run in the reverse of that order, before them.
 * A new change kind is a new row here plus an executor in src/apply/executors/.
 */
export const APPLY_ORDER: readonly OrderRow[] = [
  // Deletes, reverse dependency order.
  {
    kind: 'dns',
    actions: ['delete'],
    why: 'DNS deletes come before the config swap: a removed hostname stops routing to the tunnel before its ingress rule goes',
  },
  // `destroy` only (sync never plans these deletes), in the order of access-ha-health.md §4.1:
  {
    kind: 'access-app',
    actions: ['delete'],
    only: 'destroy',
    why: 'destroy: Access applications go after their DNS records (no request reaches a hostname whose protection is already gone) and before cloudflared stops',
  },
  {
    kind: 'access-policy',
    actions: ['delete'],
    only: 'destroy',
    why: 'destroy: an Access policy goes after the applications that linked it',
  },
  { kind: 'service-token', actions: ['delete'], only: 'destroy', why: 'destroy: a service token goes after the policies that admitted it' },
  {
    kind: 'unit',
    actions: ['delete'],
    why: 'cloudflared is stopped (gracefully: it drains, then unregisters) once no DNS routes to it, and before its tunnel goes',
  },
  {
    kind: 'connections',
    actions: ['delete'],
    why: "the stopped connector's connection records are cleaned up: a tunnel with connections cannot be deleted (error 1022)",
  },
  { kind: 'tunnel', actions: ['delete'], why: 'the tunnel goes once nothing routes to it and no connector is connected' },
  {
    kind: 'file',
    actions: ['delete'],
    why: "proxflare's files go after the tunnel: a destroy stopped at the tunnel leaves a connector `sync` can bring back as it was",
  },
  { kind: 'credentials', actions: ['delete'], why: 'the credentials go with the files (the deleted tunnel has invalidated them)' },
  { kind: 'lxc', actions: ['delete'], why: 'the connector container goes last: stopped, then destroyed with purge' },
  // Creates and updates, dependency order.
  {
    kind: 'lxc',
    actions: ['create', 'update'],
    why: 'the connector container exists and runs (with its address known) before anything is put on it',
  },
  {
    kind: 'staging-file',
    actions: ['delete'],
    why: 'staging files a killed deploy left on a connector (one may hold the tunnel secret) are removed under the connector lock, before anything is staged there',
  },
  { kind: 'tunnel', actions: ['create'], why: 'the tunnel id goes into the credentials, config.yml and every DNS target' },
  { kind: 'service-token', actions: ['create'], why: 'a service token exists before the Access policy that admits it' },
  { kind: 'access-policy', actions: ['create', 'update'], why: 'an Access policy exists before the application that links it' },
  {
    kind: 'access-app',
    actions: ['create', 'update'],
    why: 'the Access application (and its aud) exists before the connector config that checks its JWTs: a protected hostname is never served unprotected',
  },
  { kind: 'package', actions: ['create', 'update'], why: 'cloudflared is installed before its config is validated with it' },
  {
    kind: 'credentials',
    actions: ['create', 'update'],
    why: 'credentials are staged with the files and deployed with them in one atomic swap',
  },
  { kind: 'file', actions: ['create', 'update'], why: 'files are staged, then deployed atomically by the unit change' },
  {
    kind: 'tunnel-config',
    actions: ['update'],
    why: "a remotely-managed tunnel's connectors serve the configuration Cloudflare pushes over their config.yml: it is replaced before they restart, so each comes back serving the new ingress, and before a new hostname's DNS record",
  },
  {
    kind: 'unit',
    actions: ['create', 'update'],
    why: 'the unit deploys the staged files (validated before the swap, rolled back on failure) and restarts only if an input changed',
  },
  {
    kind: 'leftover',
    actions: ['delete'],
    only: 'sync',
    why: "what `cloudflared service install` left (token, self-update timer) goes once proxflare's unit runs from the credentials file",
  },
  // Access removals, after the deploy: the connector stops checking a hostname before its app goes.
  {
    kind: 'access-app',
    actions: ['delete'],
    only: 'sync',
    why: 'an Access application goes only once the connector no longer checks its aud (and after its DNS record, for a removed hostname)',
  },
  { kind: 'access-policy', actions: ['delete'], only: 'sync', why: 'an Access policy goes after the applications that linked it' },
  { kind: 'service-token', actions: ['delete'], only: 'sync', why: 'a service token goes after the policies that admitted it' },
  {
    kind: 'dns',
    actions: ['create', 'update'],
    why: 'DNS creates and updates come after the restart: a new hostname goes live only once its ingress rule is served',
  },
];

const ORDERS: Record<OrderCommand, readonly OrderRow[]> = {
  sync: APPLY_ORDER.filter((r) => r.only !== 'destroy'),
  destroy: APPLY_ORDER.filter((r) => r.only !== 'sync'),
};

/** The rows a command walks, in order. */
export function orderFor(command: OrderCommand = 'sync'): readonly OrderRow[] {
  return ORDERS[command];
}

/** Index (in `command`'s order) of the row a change belongs to. A `noop` sorts with its kind's first create/update row. */
export function orderIndex(change: Pick<Change, 'kind' | 'action' | 'address'>, command: OrderCommand = 'sync'): number {
  const { kind, action } = change;
  const order = orderFor(command);
  const i =
    action === 'noop'
      ? order.findIndex((r) => r.kind === kind && !r.actions.includes('delete'))
      : order.findIndex((r) => r.kind === kind && r.actions.includes(action));
  if (i === -1) {
    throw new InternalError(`no apply-order row for ${change.kind} ${change.action} (${change.address}); add one to APPLY_ORDER`);
  }
  return i;
}

/** The changes in apply order; within a row the planners' order (sorted addresses) is kept. */
export function inApplyOrder<C extends Change>(changes: readonly C[], command: OrderCommand = 'sync'): C[] {
  return changes
    .map((change, at) => ({ change, at, row: orderIndex(change, command) }))
    .sort((a, b) => a.row - b.row || a.at - b.at)
    .map((x) => x.change);
}
