/**
 * Change addresses: what plans, logs, errors and `--json` call each resource. Users script
 * against them, so they are stable and documented in the README. Account- and zone-level
 * resources are `kind/name`; things on a connector host are `kind:<connector>:<name>`, keyed
 * by the connector's name so a second connector never collides with the first.
 */

export function lxcAddress(hostname: string): string {
  return `lxc/${hostname}`;
}

export function tunnelAddress(name: string): string {
  return `tunnel/${name}`;
}

export function dnsAddress(hostname: string): string {
  return `dns/${hostname}`;
}

/** `file:cloudflared:/etc/cloudflared/config.yml`, `unit:cloudflared:cloudflared.service`. */
export function hostAddress(kind: 'package' | 'file' | 'staging' | 'unit' | 'leftover', connector: string, name: string): string {
  return `${kind}:${connector}:${name}`;
}
