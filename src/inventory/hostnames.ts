import { domainToASCII } from 'node:url';

export type HostnameResult = { ok: true; hostname: string; wildcard: boolean } | { ok: false; message: string; hint: string };

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Checks a public hostname (FQDN or `*.domain`) and returns it lower-case, in punycode. */
export function parseHostname(raw: string): HostnameResult {
  const text = raw.trim();
  if (text === '') return { ok: false, message: 'hostname is empty', hint: 'write the public name, e.g. media.example.com' };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) {
    return {
      ok: false,
      message: `hostname "${raw}" must not include a scheme`,
      hint: `write just the name and set \`scheme: ${scheme[1]!.toLowerCase()}\` on the service`,
    };
  }
  const withPort = /^(.*):([0-9]+)$/.exec(text);
  if (withPort) {
    return {
      ok: false,
      message: `hostname "${raw}" cannot contain a port`,
      hint: `write \`hostname: ${withPort[1]}\` and \`port: ${withPort[2]}\` (the port of the service on the guest)`,
    };
  }
  if (text.includes('/')) {
    return { ok: false, message: `hostname "${raw}" must not contain a path`, hint: 'put the path regex in `path:` on the service' };
  }
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  const wildcard = name.startsWith('*.');
  const rest = wildcard ? name.slice(2) : name;
  if (rest.includes('*') || name === '*') {
    return {
      ok: false,
      message: `hostname "${raw}" uses "*" in the wrong place`,
      hint: 'a wildcard is only allowed as the whole first label, like *.example.com',
    };
  }
  const ascii = domainToASCII(rest.toLowerCase());
  const labels = ascii.split('.');
  if (ascii === '' || labels.some((l) => !LABEL.test(l) || l.length > 63) || ascii.length > 253) {
    return {
      ok: false,
      message: `hostname "${raw}" is not a valid DNS name`,
      hint: 'use letters, digits and hyphens in dot-separated labels of at most 63 characters (no underscores or spaces)',
    };
  }
  if (labels.length < 2) {
    return {
      ok: false,
      message: `hostname "${raw}" is not fully qualified`,
      hint: 'write the full public name including the zone, e.g. media.example.com',
    };
  }
  return { ok: true, hostname: wildcard ? `*.${ascii}` : ascii, wildcard };
}

/** Normalised zone name, or undefined when it is not a valid domain. */
export function parseZone(raw: string): string | undefined {
  const result = parseHostname(raw);
  return result.ok && !result.wildcard ? result.hostname : undefined;
}

/** The longest zone the hostname belongs to (apex included), if any. */
export function zoneOf(hostname: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const zone of zones) {
    if ((hostname === zone || hostname.endsWith(`.${zone}`)) && (!best || zone.length > best.length)) best = zone;
  }
  return best;
}

/** Labels between the hostname and its zone: `a.example.com` → 1, `a.b.example.com` → 2. */
export function depthBelowZone(hostname: string, zone: string): number {
  if (hostname === zone) return 0;
  return hostname.slice(0, -(zone.length + 1)).split('.').length;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}
