import { describe, expect, it } from 'vitest';
import { checkOrigin } from '../../../src/plan/check-origin.js';
import { lxcConfigAddress, pickAgentAddress, pickLxcAddress, vmConfigAddress } from '../../../src/proxmox/guest-ip.js';
import { parseUpid } from '../../../src/proxmox/task.js';

const ctx = { nodeAddresses: ['192.168.1.2', 'fd00::2'], allowLoopback: false };

describe('checkOrigin', () => {
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['127.0.10.5', /loopback/],
    ['::1', /loopback/],
    ['169.254.3.4', /link-local/],
    ['fe80::1', /link-local/],
    ['0.0.0.0', /unspecified/],
    ['::', /unspecified/],
    ['224.0.0.251', /multicast/],
    ['ff02::1', /multicast/],
    ['192.168.1.2', /Proxmox node/],
    ['::ffff:192.168.1.2', /Proxmox node/],
    ['fd00::2', /Proxmox node/],
    ['not-an-ip', /not an IP address/],
    // The same addresses in other forms (IPv4-mapped IPv6, expanded IPv6, a zone id).
    ['::ffff:7f00:1', /loopback/],
    ['::ffff:127.0.0.1', /loopback/],
    ['0:0:0:0:0:0:0:1', /loopback/],
    ['::ffff:a9fe:304', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['::ffff:0.0.0.0', /unspecified/],
    ['::ffff:e000:fb', /multicast/],
    ['::ffff:c0a8:102', /Proxmox node/],
    ['fd00:0:0:0:0:0:0:2', /Proxmox node/],
  ];
  it.each(refused)('%s is refused', (ip, message) => {
    expect(checkOrigin(ip, ctx)).toMatch(message);
  });

  it.each(['192.168.1.50', '10.0.0.7', '172.16.5.5', 'fd00::50', '2001:db8::5', '::ffff:192.168.1.50'])('%s is fine', (ip) => {
    expect(checkOrigin(ip, ctx)).toBeUndefined();
  });

  it('a node address reported in mapped form still matches the guest in plain form', () => {
    expect(checkOrigin('192.168.1.2', { nodeAddresses: ['::ffff:192.168.1.2'], allowLoopback: false })).toMatch(/Proxmox node/);
  });

  it('loopback only when allowed (demo), node addresses never', () => {
    expect(checkOrigin('127.0.10.5', { ...ctx, allowLoopback: true })).toBeUndefined();
    expect(checkOrigin('127.0.9.1', { nodeAddresses: ['127.0.9.1'], allowLoopback: true })).toMatch(/Proxmox node/);
  });
});

describe('address extraction (README-pve §9.9 shapes)', () => {
  const lxc = [
    { name: 'lo', inet: '127.0.0.1/8', 'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'inet' }] },
    { name: 'eth0', inet: '192.168.1.50/24', inet6: 'fe80::1/64' },
    {
      name: 'eth1',
      'ip-addresses': [
        { 'ip-address': 'fd00::9', 'ip-address-type': 'inet6' },
        { 'ip-address': '10.0.0.9', 'ip-address-type': 'inet' },
      ],
    },
  ];
  it('LXC /interfaces: skips lo, strips the prefix, honours a named interface, null when stopped', () => {
    expect(pickLxcAddress(lxc)).toBe('192.168.1.50');
    expect(pickLxcAddress(lxc, 'eth1')).toBe('10.0.0.9');
    expect(pickLxcAddress(lxc, 'eth9')).toBeUndefined();
    expect(pickLxcAddress(null)).toBeUndefined();
  });
  it('agent: ipv4 type, wrapped list', () => {
    const result = [
      { name: 'lo', 'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4' }] },
      {
        name: 'ens18',
        'ip-addresses': [
          { 'ip-address': 'fe80::2', 'ip-address-type': 'ipv6' },
          { 'ip-address': '192.168.1.60', 'ip-address-type': 'ipv4' },
        ],
      },
    ];
    expect(pickAgentAddress(result)).toBe('192.168.1.60');
  });
  it('config fallbacks: net[n] ip= and cloud-init ipconfig[n]', () => {
    expect(lxcConfigAddress({ net0: 'name=eth0,bridge=vmbr0,ip=dhcp', net1: 'name=eth1,bridge=vmbr1,ip=10.1.0.5/24' })).toBe('10.1.0.5');
    expect(lxcConfigAddress({ net0: 'name=eth0,bridge=vmbr0,ip=10.0.0.4/24', net1: 'name=eth1,ip=10.1.0.5/24' }, 'eth1')).toBe('10.1.0.5');
    expect(lxcConfigAddress({ net0: 'name=eth0,bridge=vmbr0,ip=manual' })).toBeUndefined();
    expect(vmConfigAddress({ ipconfig0: 'ip=dhcp', ipconfig1: 'ip=10.2.0.5/24,gw=10.2.0.1' })).toBe('10.2.0.5');
  });
  it('parses UPIDs (the node to poll is inside)', () => {
    expect(parseUpid('UPID:pve2:0019C5A2:0A3E7B1F:66F1D2C3:vzcreate:105:proxflare@pve!cli:')).toEqual({
      node: 'pve2',
      type: 'vzcreate',
      id: '105',
    });
    expect(parseUpid('UPID:pve:0019C5A2:0A3E7B1F:66F1D2C3:vzcreate:105:proxflare@pve!cli')).toBeUndefined();
  });
});
