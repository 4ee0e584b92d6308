import { isIP, isIPv4 } from 'node:net';

function v4Octets(ip: string): number[] {
  return ip.split('.').map(Number);
}

/** Expands an IPv6 address to 8 groups so prefixes can be compared. */
function v6Groups(ip: string): number[] {
  const [head, tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g, 16));
}

function normalise(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip.toLowerCase();
}

/**
 * Why an origin address must not be used, or undefined when it is fine. cloudflared runs on
 * the connector LXC: a loopback origin reaches the connector itself, a link-local one only
 * its own segment, and the Proxmox node's address exposes the hypervisor instead of a guest.
 */
export function checkOrigin(ip: string, context: { nodeAddresses: string[]; allowLoopback: boolean }): string | undefined {
  const addr = normalise(ip);
  const family = isIP(addr);
  if (family === 0) return `"${ip}" is not an IP address; set the guest's \`ip\` to its IPv4 address`;

  if (context.nodeAddresses.map(normalise).includes(addr))
    return `${ip} is the address of a Proxmox node, not of a guest; exposing the hypervisor is refused (set the guest's \`ip\` to the guest's own address)`;

  if (family === 4 && isIPv4(addr)) {
    const [a, b] = v4Octets(addr) as [number, number];
    if (a === 127) {
      return context.allowLoopback
        ? undefined
        : `${ip} is a loopback address: cloudflared on the connector would reach the connector itself, not the guest (set the guest's \`ip\`, or allowLoopbackOrigins for the demo only)`;
    }
    if (a === 169 && b === 254) return `${ip} is a link-local address (no DHCP lease?); give the guest a LAN address or set its \`ip\``;
    if (addr === '0.0.0.0') return `${ip} is the unspecified address; set the guest's \`ip\` to its LAN address`;
    if (a >= 224 && a <= 239) return `${ip} is a multicast address; set the guest's \`ip\` to its unicast LAN address`;
    if (addr === '255.255.255.255') return `${ip} is the broadcast address; set the guest's \`ip\` to its LAN address`;
    return undefined;
  }

  const g = v6Groups(addr);
  if (g.every((x) => x === 0)) return `${ip} is the unspecified address; set the guest's \`ip\` to its LAN address`;
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) {
    return context.allowLoopback
      ? undefined
      : `${ip} is a loopback address: cloudflared on the connector would reach the connector itself, not the guest (set the guest's \`ip\`)`;
  }
  if ((g[0]! & 0xffc0) === 0xfe80) return `${ip} is a link-local address; set the guest's \`ip\` to a routable address`;
  if ((g[0]! & 0xff00) === 0xff00) return `${ip} is a multicast address; set the guest's \`ip\` to its unicast address`;
  return undefined;
}
