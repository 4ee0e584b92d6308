import { isIPv4 } from 'node:net';

export interface Ipv4Cidr {
  address: string;
  prefix: number;
}

/** `192.168.1.50/24` → parts; undefined when it is not an IPv4 CIDR. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1]!)) return undefined;
  const prefix = Number(match[2]);
  if (prefix < 1 || prefix > 32) return undefined;
  return { address: match[1]!, prefix };
}

function toNumber(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function ipv4InSubnet(address: string, cidr: Ipv4Cidr): boolean {
  const size = 2 ** (32 - cidr.prefix);
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(cidr.address) / size);
}
