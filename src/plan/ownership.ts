import type { ConnectorSpec } from '../inventory/types.js';
import type { DnsRecord } from '../ports/cloudflare.js';
import type { LxcRef } from '../ports/proxmox.js';
import { dnsAddress, lxcAddress } from './addresses.js';
import type { Conflict } from './types.js';
import { MANAGED_HEADER } from '../render/managed-header.js';

/**
 * What "ours" means, per kind, in one place: the mark proxflare writes, how it is read back,
 * what counts as a conflict (something with our name but without our mark) and what adopting
 * it does. Planners ask this module; they never decide ownership themselves. A new kind
 * (Access applications next) adds its section here and, if it can be adopted, its name to
 * ADOPTABLE_KINDS.
 */

/** Kinds whose foreign resources `--adopt` can take over. */
export const ADOPTABLE_KINDS = ['dns', 'lxc', 'access', 'tunnel'] as const;
export type AdoptableKind = (typeof ADOPTABLE_KINDS)[number];

/** Which kinds to adopt: `--adopt` is every adoptable kind, `--adopt=dns` only those named. */
export type AdoptKinds = ReadonlySet<AdoptableKind>;
export const ADOPT_NOTHING: AdoptKinds = new Set();
export const ADOPT_ALL: AdoptKinds = new Set(ADOPTABLE_KINDS);

/**
 * `--adopt` / `--adopt=dns,...` → the kinds, or an error text naming what is allowed.
 * `lxc` is named on purpose: a container is adopted by tagging it, not by a flag.
 */
export function parseAdoptKinds(value: boolean | string | undefined): AdoptKinds | string {
  if (value === undefined || value === false) return ADOPT_NOTHING;
  if (value === true || value.trim() === '' || value.trim() === 'all') return ADOPT_ALL;
  const kinds = new Set<AdoptableKind>();
  for (const raw of value.split(',')) {
    const kind = raw.trim().toLowerCase();
    if ((ADOPTABLE_KINDS as readonly string[]).includes(kind)) kinds.add(kind as AdoptableKind);
    else return `"${raw.trim()}" cannot be adopted; --adopt takes ${ADOPTABLE_KINDS.join(', ')} (comma-separated) or nothing for all`;
  }
  return kinds;
}

// ── DNS records ─────────────────────────────────────────────────────────────────────────────
// Mark: the record comment `managed by proxflare: tunnel <name>[; <settings.ownerComment>]`.
// Tags would be cleaner but the Free plan has a tag quota of 0 (error 9300), and comments are
// cut to the Free plan's 100 characters (error 9313 beyond).
// Conflict: a record without our mark, of a type that shares a name exclusively with a CNAME,
// on a hostname the inventory wants. Adopt: that record is rewritten as our CNAME with our mark.

/** Free zones allow 100 characters per record comment (error 9313 beyond). */
export const OWNER_COMMENT_MAX = 100;
const OWNER_PREFIX = 'managed by proxflare: tunnel ';
/** Separates the ownership marker from the user's optional extra text. */
const EXTRA_SEPARATOR = '; ';
/** Types that share a name exclusively with a CNAME (Cloudflare 81053/81054). */
const EXCLUSIVE_TYPES = new Set(['A', 'AAAA', 'CNAME']);

/** Code-point aware, so a surrogate pair is never cut in half. */
function truncate(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : chars.slice(0, max).join('');
}

function singleLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trim();
}

function ownerMarker(tunnelName: string): string {
  return truncate(OWNER_PREFIX + singleLine(tunnelName), OWNER_COMMENT_MAX);
}

/** The comment that marks a record as ours. */
export function ownerComment(tunnelName: string, extra?: string): string {
  const marker = ownerMarker(tunnelName);
  const more = extra === undefined ? '' : singleLine(extra);
  return more === '' ? marker : truncate(marker + EXTRA_SEPARATOR + more, OWNER_COMMENT_MAX);
}

/**
 * True only for records marked for exactly this tunnel name: tunnel `home` must not claim
 * the records of tunnel `homelab`, so the marker has to end where the name ends.
 */
export function isOwnedBy(comment: string | null, tunnelName: string): boolean {
  if (comment === null) return false;
  const marker = ownerMarker(tunnelName);
  return comment === marker || comment.startsWith(marker + EXTRA_SEPARATOR);
}

/** The tunnel name in a proxflare marker, whichever tunnel it belongs to. */
export function markerTunnel(comment: string | null): string | undefined {
  if (comment === null || !comment.startsWith(OWNER_PREFIX)) return undefined;
  const rest = comment.slice(OWNER_PREFIX.length);
  const end = rest.indexOf(EXTRA_SEPARATOR);
  return end === -1 ? rest : rest.slice(0, end);
}

/** A record without our mark that blocks our CNAME on the same name. */
export function blocksOurRecord(record: DnsRecord, tunnelName: string): boolean {
  return !isOwnedBy(record.comment, tunnelName) && EXCLUSIVE_TYPES.has(record.type);
}

export function describeDnsRecord(r: DnsRecord): string {
  return `${r.type} ${r.name} → ${r.content} (id ${r.id}${r.comment ? `, comment "${r.comment}"` : ''})`;
}

export function dnsConflict(record: DnsRecord, zoneName: string, hostname: string, tunnelName: string): Conflict {
  const owner = markerTunnel(record.comment);
  const whose = owner === undefined ? 'not managed by proxflare' : `managed by proxflare for another tunnel (${owner})`;
  return {
    address: dnsAddress(hostname),
    message: `${describeDnsRecord(record)} in zone ${zoneName} is ${whose}; tunnel ${tunnelName} cannot route ${hostname}`,
    hint: 'remove or rename that record, drop the hostname from the inventory, or re-run with --adopt to take it over',
  };
}

// ── The connector LXC ───────────────────────────────────────────────────────────────────────
// Mark: the Proxmox tag `connector.tag` (default `proxflare`) on a container with the connector's
// hostname; the adapter reads it back by tag + hostname, never by hostname alone.
// Conflict: a same-named container without the tag. Adopt (`--adopt` / `--adopt=lxc`, issue 17:
// a community-scripts LXC brought under the inventory): the one such container gets our tag
// added to its own, shown in the plan as an update; its other settings are then compared as usual.

export function lxcOwnershipTags(spec: ConnectorSpec): string[] {
  return [spec.tag];
}

export function lxcConflict(spec: ConnectorSpec, ref: LxcRef): Conflict {
  return {
    address: lxcAddress(spec.hostname),
    message: `an LXC named "${spec.hostname}" (vmid ${ref.vmid} on node ${ref.node}) exists without the ownership tag "${spec.tag}"; proxflare does not adopt it silently`,
    hint: `rename or remove CT ${ref.vmid}, change connector.hostname, or adopt it on purpose by tagging it: pct set ${ref.vmid} --tags ${spec.tag}`,
  };
}

// ── Cloudflare Access ───────────────────────────────────────────────────────────────────────
// Mark: an application carries the Access tag `proxflare` AND the name
// `proxflare:<tunnel>:<hostname>`; reusable policies and service tokens (which have no tags)
// the name `proxflare:<tunnel>:<name>`. Conflict: an application covering a wanted hostname
// without both marks. Adopt (`--adopt=access`): that application is rewritten with our name,
// tag and the inventory's policies. Policies referenced with `existing:` are read, never written.

export const ACCESS_TAG = 'proxflare';

export function accessOwnedName(tunnelName: string, name: string): string {
  return `proxflare:${tunnelName}:${name}`;
}

/** The inventory name inside one of our Access names, or undefined when the name is not ours (for this tunnel). */
export function accessOwnedSuffix(name: string, tunnelName: string): string | undefined {
  const prefix = accessOwnedName(tunnelName, '');
  return name.startsWith(prefix) ? name.slice(prefix.length) : undefined;
}

// ── Files on the connector ─────────────────────────────────────────────────────────────────
// Mark: the first line of every file rendered from our templates (MANAGED_HEADER). The
// credentials file is JSON and cannot carry it: it is ours when our config.yml is there or it
// names the inventory's tunnel. Anything else at those paths (a `cloudflared service install`
// unit, a hand-written config) is not ours: destroy leaves it, import reads it.

export function isOurFile(content: string): boolean {
  return content.startsWith(MANAGED_HEADER);
}

export function isOurCredentials(
  credentialsTunnelId: string | undefined,
  ourConfigPresent: boolean,
  tunnelId: string | undefined,
): boolean {
  return ourConfigPresent || (tunnelId !== undefined && credentialsTunnelId === tunnelId);
}
