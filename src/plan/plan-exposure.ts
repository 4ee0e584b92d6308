import type { Inventory } from '../inventory/types.js';
import type { AccessState } from '../ports/access.js';
import type { ZoneRecords } from '../ports/cloudflare.js';
import type { ExposureEntry, ExposureState } from './access-changes.js';
import { appsCovering, ownedName, protectedHostnames } from './plan-access.js';
import { isOwnedBy } from './plan-dns.js';

/**
 * Who can reach each published hostname before and after the plan, in plain words
 * (PUBLIC / PROTECTED (policies)), plus warnings for admin UIs published without Access. Pure.
 */
export interface ExposureInput {
  inventory: Inventory;
  zones: ZoneRecords[];
  /** undefined when the inventory uses no Access (then nothing was read from Access). */
  access: AccessState | undefined;
  /** Hostnames published after this plan. */
  hostnames: string[];
}

/** Ports of well-known admin UIs: Proxmox VE, Proxmox Backup Server, Cockpit, Webmin, Portainer, Docker API, Synology DSM. */
const ADMIN_PORTS = new Map<number, string>([
  [8006, 'the Proxmox VE UI port'],
  [8007, 'the Proxmox Backup Server UI port'],
  [9090, 'the Cockpit port'],
  [10000, 'the Webmin port'],
  [9443, 'the Portainer port'],
  [9000, 'the Portainer port'],
  [2375, 'the Docker API port'],
  [2376, 'the Docker API port'],
  [5000, 'the Synology DSM port'],
  [5001, 'the Synology DSM port'],
]);
const ADMIN_LABELS = new Set([
  'pve',
  'proxmox',
  'pbs',
  'admin',
  'portainer',
  'cockpit',
  'webmin',
  'router',
  'opnsense',
  'pfsense',
  'truenas',
  'unifi',
  'idrac',
  'ipmi',
  'ilo',
  'traefik',
]);

export function planExposure(input: ExposureInput): { exposure: ExposureEntry[]; warnings: string[] } {
  const { inventory, access } = input;
  const tunnel = inventory.tunnel.name;
  const published = new Set<string>();
  for (const z of input.zones) for (const r of z.records) if (isOwnedBy(r.comment, tunnel)) published.add(r.name);
  const after = new Set(input.hostnames);
  const protectedHosts = protectedHostnames(inventory);
  const policyName = new Map(
    (access?.policies ?? []).map((p) => [
      p.id,
      p.name.startsWith(`proxflare:${tunnel}:`) ? p.name.slice(`proxflare:${tunnel}:`.length) : p.name,
    ]),
  );
  // An existing: policy is shown by its inventory name.
  for (const spec of inventory.access?.policies.values() ?? []) {
    if (spec.kind !== 'existing') continue;
    const p = access?.policies.find((x) => x.reusable && x.name === spec.existing);
    if (p) policyName.set(p.id, spec.name);
  }

  const beforeState = (hostname: string): ExposureState => {
    const apps = access ? appsCovering(access, hostname) : [];
    if (apps.length === 0) return { kind: 'PUBLIC' };
    const app = apps.find((a) => a.name === ownedName(tunnel, hostname)) ?? apps[0]!;
    return { kind: 'PROTECTED', policies: app.policyIds.map((id) => policyName.get(id) ?? id) };
  };
  const afterState = (hostname: string): ExposureState => {
    const sa = protectedHosts.get(hostname);
    if (sa) return { kind: 'PROTECTED', policies: [...sa.policies] };
    // A foreign app we do not own keeps covering the hostname (we never touch it).
    const foreign = access ? appsCovering(access, hostname).filter((a) => a.name !== ownedName(tunnel, hostname)) : [];
    if (foreign.length > 0) return beforeState(hostname);
    return { kind: 'PUBLIC' };
  };

  const exposure: ExposureEntry[] = [...new Set([...published, ...after])].sort().map((hostname) => ({
    hostname,
    before: published.has(hostname) ? beforeState(hostname) : undefined,
    after: after.has(hostname) ? afterState(hostname) : undefined,
  }));

  const warnings: string[] = [];
  // A Proxmox node published as a host has its own, louder warning (desired-state.ts).
  for (const owner of [...inventory.guests, ...inventory.hosts.filter((h) => !h.proxmoxNode)]) {
    for (const s of owner.services) {
      if (s.access || !after.has(s.hostname)) continue;
      if (exposure.find((e) => e.hostname === s.hostname)?.after?.kind !== 'PUBLIC') continue;
      const label = s.hostname.split('.')[0] ?? '';
      const why =
        (s.port !== undefined ? ADMIN_PORTS.get(s.port) : undefined) ??
        (ADMIN_LABELS.has(label) ? `an admin-looking name (${label})` : undefined);
      if (why) {
        warnings.push(
          `${inventory.positions.locate(s.field)} ${s.hostname} is published PUBLIC but looks like an admin UI (${why}): anyone on the Internet reaches its login page; add \`access:\` to protect it with Cloudflare Access`,
        );
      }
    }
  }
  return { exposure, warnings };
}

export function describeExposure(state: ExposureState | undefined): string {
  if (!state) return '(not published)';
  return state.kind === 'PUBLIC' ? 'PUBLIC' : `PROTECTED (${state.policies.join(', ')})`;
}

/** `pve.example.com PUBLIC → PROTECTED (admins)`, `media.example.com PUBLIC`, `new.example.com (new) → PUBLIC`. */
export function exposureLine(e: ExposureEntry): { text: string; change: ExposureChange | undefined } {
  const before = e.before ? describeExposure(e.before) : '(new)';
  const after = e.after ? describeExposure(e.after) : '(removed)';
  if (before === after) return { text: `${e.hostname} ${after}`, change: undefined };
  return { text: `${e.hostname} ${before} → ${after}`, change: exposureChange(e) };
}

export type ExposureChange = 'becomes PUBLIC' | 'becomes PROTECTED' | 'unpublished';

function exposureChange(e: ExposureEntry): ExposureChange | undefined {
  if (!e.after) return 'unpublished';
  if (e.after.kind === 'PUBLIC') return e.before?.kind === 'PUBLIC' ? undefined : 'becomes PUBLIC';
  return e.before?.kind === 'PROTECTED' ? undefined : 'becomes PROTECTED';
}
