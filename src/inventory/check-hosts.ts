import { isIP } from 'node:net';
import type { IssueSink } from './issue-sink.js';
import { childField } from './source-map.js';

/** A DNS name the connector can resolve (nas.lan, router), not a URL or a host:port. */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const GUEST_NAME = /^(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)$/;

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * `hosts:` entries: machines published by address. Their names share one namespace with the
 * guests (`names`, filled by the guest checks first), and their services follow the same rules.
 */
export function checkHosts(
  hosts: unknown[],
  sink: IssueSink,
  names: Map<string, string>,
  checkService: (service: Record<string, unknown>, field: string) => void,
  /** Host name of proxmox.url: the one node address known without asking Proxmox. */
  proxmoxHost?: string,
): void {
  hosts.forEach((value, i) => {
    const host = record(value);
    const field = `hosts[${i}]`;
    if (!host) return;
    if (typeof host.name === 'string' && host.name !== '') {
      if (!GUEST_NAME.test(host.name)) {
        sink.error(`${field}.name`, `"${host.name}" is not a valid host name`, 'use letters, digits, hyphens and dots, e.g. nas');
      }
      const key = host.name.toLowerCase();
      const first = names.get(key);
      if (first) {
        const what = first.startsWith('guests') ? 'guest' : 'host';
        sink.error(
          `${field}.name`,
          `name "${host.name}" is already used by the ${what} ${first} (${sink.locate(`${first}.name`)})`,
          'give every guest and host its own name',
        );
      } else {
        names.set(key, field);
      }
    }
    if (typeof host.address === 'string') {
      checkAddress(host.address, `${field}.address`, sink);
      if (proxmoxHost && sameHost(host.address, proxmoxHost) && host.proxmoxNode !== true) {
        sink.error(`${field}.address`, PROXMOX_NODE_REFUSED(host.address), PROXMOX_NODE_HINT);
      }
    }
    if (Array.isArray(host.services)) {
      host.services.forEach((service, j) => {
        const s = record(service);
        if (s) checkService(s, childField(`${field}.services`, j));
      });
    }
  });
}

/** Shared with the plan, which also knows the node addresses read from Proxmox. */
export const PROXMOX_NODE_REFUSED = (address: string): string =>
  `${address} is a Proxmox node: publishing the hypervisor is refused unless it is meant`;
export const PROXMOX_NODE_HINT =
  'add `proxmoxNode: true` to this host if you mean to publish the node (e.g. its web UI), and protect its hostnames with Access';

function sameHost(a: string, b: string): boolean {
  const strip = (h: string) =>
    h
      .toLowerCase()
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '');
  return strip(a) === strip(b);
}

function checkAddress(address: string, field: string, sink: IssueSink): void {
  if (isIP(address) !== 0) return;
  if (address.includes('://')) {
    sink.error(
      field,
      `"${address}" must be an address, not a URL`,
      'write just the IP or name (e.g. 192.168.1.5) and put scheme and port on each service',
    );
  } else if (/^\[.*\]$/.test(address)) {
    sink.error(field, `"${address}" must be written without brackets`, `write ${address.slice(1, -1)}`);
  } else if (/:\d+$/.test(address)) {
    sink.error(field, `"${address}" must not contain a port`, 'put the port on each service (`port:`)');
  } else if (address.includes('/')) {
    sink.error(
      field,
      `"${address}" must be a single address, not a network`,
      `write the host's own address, e.g. ${address.split('/')[0]}`,
    );
  } else if (!HOST_NAME.test(address)) {
    sink.error(
      field,
      `"${address}" is neither an IP address nor a DNS name`,
      'write an IP like 192.168.1.5 or a name the connector resolves, like nas.lan',
    );
  }
}
