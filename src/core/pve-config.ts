import type { NetworkSpec } from '../inventory/types.js';
import { byCodePoint } from './compare.js';

/**
 * PVE property strings (README-pve §4.6/§4.7), pure: planning compares the connector's config
 * with them and the Proxmox adapter writes them, so they live below both.
 */

/** net0 keys proxflare manages; everything else (hwaddr, type, firewall, ...) is left as found. */
export const MANAGED_NET_KEYS = ['name', 'bridge', 'ip', 'gw', 'tag'] as const;

export function parsePropertyString(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',')) {
    if (part.trim() === '') continue;
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

export function printPropertyString(parts: Record<string, string>): string {
  // Same order `pct config` prints: name first, the rest sorted.
  const keys = Object.keys(parts).sort((a, b) => (a === 'name' ? -1 : b === 'name' ? 1 : byCodePoint(a, b)));
  return keys.map((k) => `${k}=${parts[k]}`).join(',');
}

export function desiredNet(network: NetworkSpec): Record<string, string> {
  const out: Record<string, string> = { name: 'eth0', bridge: network.bridge, ip: network.ip };
  if (network.ip !== 'dhcp' && 'gw' in network && network.gw) out.gw = network.gw;
  if (network.vlan !== undefined) out.tag = String(network.vlan);
  return out;
}

/** `name=eth0,bridge=vmbr0,ip=dhcp[,gw=..][,tag=..]` */
export function formatNet0(network: NetworkSpec): string {
  return printPropertyString(desiredNet(network));
}

/** Managed net0 keys that differ, as "key a → b" texts (empty when equal). */
export function net0Differences(desired: NetworkSpec, actualNet0: string): string[] {
  const want = desiredNet(desired);
  const have = parsePropertyString(actualNet0);
  const diffs: string[] = [];
  for (const k of MANAGED_NET_KEYS) {
    if ((want[k] ?? '') !== (have[k] ?? '')) diffs.push(`net0.${k} ${have[k] ?? '(unset)'} → ${want[k] ?? '(unset)'}`);
  }
  return diffs;
}

/** Words for a busy container: `being created by task UPID…` or `busy (lock: backup, task UPID…)` (README-pve §4.14). */
export function describeBusy(lock: string | undefined, upid: string | undefined): string {
  if (lock === 'create' && upid) return `being created by task ${upid}`;
  const parts = [lock ? `lock: ${lock}` : undefined, upid ? `task ${upid}` : undefined].filter(Boolean);
  return `busy (${parts.join(', ')})`;
}

/** The new net0: desired managed keys over what exists, so the MAC (and a DHCP lease) survives. */
export function mergeNet0(desired: NetworkSpec, actualNet0: string): string {
  const have = parsePropertyString(actualNet0);
  for (const k of MANAGED_NET_KEYS) delete have[k];
  return printPropertyString({ ...have, ...desiredNet(desired) });
}

/** `local-lvm:vm-105-disk-0,size=4G` → storage and size in GiB. */
export function parseRootfs(rootfs: string): { storage: string; sizeGiB: number | undefined } {
  const [volume = '', ...rest] = rootfs.split(',');
  const volumeValue = volume.startsWith('volume=') ? volume.slice(7) : volume;
  const storage = volumeValue.split(':')[0] ?? '';
  const size = rest.map((p) => /^size=(\d+(?:\.\d+)?)([KMGT])?$/.exec(p.trim())).find(Boolean);
  let sizeGiB: number | undefined;
  if (size) {
    const n = Number(size[1]);
    const unit = size[2] ?? '';
    sizeGiB = unit === 'T' ? n * 1024 : unit === 'G' ? n : unit === 'M' ? n / 1024 : unit === 'K' ? n / 1024 ** 2 : n / 1024 ** 3;
  }
  return { storage, sizeGiB };
}

/** `local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst` → storage + file name. */
export function parseTemplateVolid(volid: string): { storage: string; file: string } {
  const m = /^([^:]+):(?:vztmpl\/)?(.+)$/.exec(volid);
  return m ? { storage: m[1]!, file: m[2]! } : { storage: '', file: volid };
}

export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.toLowerCase()))].sort();
}
