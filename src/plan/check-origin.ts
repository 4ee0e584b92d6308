import { BlockList, isIP } from 'node:net';

type Family = 'ipv4' | 'ipv6';

/**
 * node:net's BlockList, because it compares addresses rather than strings: an IPv4-mapped IPv6
 * form (`::ffff:7f00:1`, `::ffff:127.0.0.1`) and an expanded or compressed IPv6 form all match
 * the range they belong to, which hand-written prefix checks missed.
 */
function ranges(subnets: [string, number, Family][]): BlockList {
  const list = new BlockList();
  for (const [net, prefix, family] of subnets) list.addSubnet(net, prefix, family);
  return list;
}

const LOOPBACK = ranges([
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
]);
const LINK_LOCAL = ranges([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);
const UNSPECIFIED = ranges([
  ['0.0.0.0', 32, 'ipv4'],
  ['::', 128, 'ipv6'],
]);
const MULTICAST = ranges([
  ['224.0.0.0', 4, 'ipv4'],
  ['ff00::', 8, 'ipv6'],
]);
const BROADCAST = ranges([['255.255.255.255', 32, 'ipv4']]);

/** Address without an IPv6 zone (`fe80::1%eth0`) and its family, or undefined if it is none. */
function parse(ip: string): { addr: string; family: Family } | undefined {
  const addr = ip.trim().replace(/%.*$/, '');
  const v = isIP(addr);
  return v === 0 ? undefined : { addr, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Why an origin address must not be used, or undefined when it is fine. cloudflared runs on
 * the connector LXC: a loopback origin reaches the connector itself, a link-local one only
 * its own segment, and the Proxmox node's address exposes the hypervisor instead of a guest.
 * Every form of an address counts: `::ffff:7f00:1` is loopback, `::ffff:<node>` is the node.
 */
export function checkOrigin(ip: string, context: { nodeAddresses: string[]; allowLoopback: boolean }): string | undefined {
  const parsed = parse(ip);
  if (!parsed) return `"${ip}" is not an IP address; set the guest's \`ip\` to its IPv4 address`;
  const { addr, family } = parsed;

  const nodes = new BlockList();
  for (const node of context.nodeAddresses.map(parse)) if (node) nodes.addAddress(node.addr, node.family);
  if (nodes.check(addr, family))
    return `${ip} is the address of a Proxmox node, not of a guest; exposing the hypervisor is refused (set the guest's \`ip\` to the guest's own address)`;

  if (LOOPBACK.check(addr, family)) {
    return context.allowLoopback
      ? undefined
      : `${ip} is a loopback address: cloudflared on the connector would reach the connector itself, not the guest (set the guest's \`ip\`, or allowLoopbackOrigins for the demo only)`;
  }
  if (LINK_LOCAL.check(addr, family))
    return `${ip} is a link-local address (no DHCP lease?); give the guest a LAN address or set its \`ip\``;
  if (UNSPECIFIED.check(addr, family)) return `${ip} is the unspecified address; set the guest's \`ip\` to its LAN address`;
  if (MULTICAST.check(addr, family)) return `${ip} is a multicast address; set the guest's \`ip\` to its unicast LAN address`;
  if (BROADCAST.check(addr, family)) return `${ip} is the broadcast address; set the guest's \`ip\` to its LAN address`;
  return undefined;
}
