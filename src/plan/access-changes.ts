import { createHash } from 'node:crypto';
import type { AccessAppBody, AccessPolicyBody } from '../ports/access.js';

/**
 * Change kinds for Cloudflare Access. Bodies are complete (the apps API has PUT, no PATCH),
 * and may reference objects this same plan creates through placeholders that apply
 * resolves as it goes: `@policy:<name>` (a policy id) and `@service-token:<name>` (a token id).
 */

export const POLICY_REF = '@policy:';
export const TOKEN_REF = '@service-token:';

/** What the plan shows of a policy (rules in words, never ids). */
export interface AccessPolicyView {
  name: string;
  decision: string;
  include: string[];
  require: string[];
}

/** What the plan shows of an app. */
export interface AccessAppView {
  name: string;
  domain: string;
  /** Inventory policy names (or Cloudflare names of foreign policies), in precedence order. */
  policies: string[];
  sessionDuration: string;
  publicPaths: string[];
  allowedIdps: string[];
  tags: string[];
  /** The audience tag; UNKNOWN until the app exists. */
  aud: string;
}

interface AccessChangeBase {
  address: string;
  action: 'create' | 'update' | 'delete' | 'noop';
  reason: string;
  accountId: string;
  /** Existing object id (update, delete, noop). */
  id?: string;
}

export interface AccessPolicyChange extends AccessChangeBase {
  kind: 'access-policy';
  /** Inventory name (`admins`); the Cloudflare name is `proxflare:<tunnel>:<name>`. */
  policy: string;
  before: AccessPolicyView | undefined;
  after: AccessPolicyView | undefined;
  body?: AccessPolicyBody;
}

export interface AccessAppChange extends AccessChangeBase {
  kind: 'access-app';
  hostname: string;
  before: AccessAppView | undefined;
  after: AccessAppView | undefined;
  body?: AccessAppBody;
  /** The connector config must be re-rendered with this app's (new) aud. */
  audPlaceholder: string;
}

export interface ServiceTokenChange extends AccessChangeBase {
  kind: 'service-token';
  token: string;
  before: { name: string; clientId: string } | undefined;
  after: { name: string; duration: string } | undefined;
  /** Where the client id + secret are written once, at creation (0600); never shown otherwise. */
  secretFile?: string;
  duration?: string;
}

export type AccessChange = AccessPolicyChange | AccessAppChange | ServiceTokenChange;

/** One line of the plan's Exposure section. */
export interface ExposureEntry {
  hostname: string;
  /** undefined: the hostname is not published before (new) or after (removed) this plan. */
  before: ExposureState | undefined;
  after: ExposureState | undefined;
}

export type ExposureState = { kind: 'PUBLIC' } | { kind: 'PROTECTED'; policies: string[] };

/**
 * Stands in config.yml for the aud of an app this plan creates. Same shape as a real aud
 * (64 lower-case hex digits, a plain YAML scalar), so substituting it at apply time leaves
 * exactly the file the next plan renders; the 16 leading zeros make it recognisable.
 */
export function audPlaceholder(hostname: string): string {
  return `0000000000000000${createHash('sha256').update(hostname).digest('hex').slice(0, 48)}`;
}

export const AUD_PLACEHOLDER_PATTERN = /\b0{16}[0-9a-f]{48}\b/g;

export function isAccessChange(c: { kind: string }): c is AccessChange {
  return c.kind === 'access-policy' || c.kind === 'access-app' || c.kind === 'service-token';
}
