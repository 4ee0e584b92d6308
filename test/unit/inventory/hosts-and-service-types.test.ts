import { describe, expect, it } from 'vitest';
import { MINIMAL, issueFor, load, loadError } from './helpers.js';

const withHosts = (hosts: string, guests = '') => `${MINIMAL}${guests}hosts:\n${hosts}`;

describe('hosts:', () => {
  it("loads hosts by address without any Proxmox fields, services normalised like a guest's", async () => {
    const inv = await load(
      withHosts(
        [
          '  - name: nas',
          '    address: NAS.lan',
          '    services:',
          '      - hostname: NAS.example.com',
          '        port: 5001',
          '        scheme: https',
          '        originRequest: { noTLSVerify: true }',
          '  - name: pve',
          '    address: 192.168.1.2',
          '    proxmoxNode: true',
          '    services:',
          '      - { hostname: pve.example.com, port: 8006, scheme: https }',
          '',
        ].join('\n'),
      ),
    );
    expect(inv.hosts).toEqual([
      {
        name: 'nas',
        address: 'nas.lan',
        proxmoxNode: false,
        field: 'hosts[0]',
        services: [
          { hostname: 'nas.example.com', scheme: 'https', port: 5001, originRequest: { noTLSVerify: true }, field: 'hosts[0].services[0]' },
        ],
      },
      {
        name: 'pve',
        address: '192.168.1.2',
        proxmoxNode: true,
        field: 'hosts[1]',
        services: [{ hostname: 'pve.example.com', scheme: 'https', port: 8006, field: 'hosts[1].services[0]' }],
      },
    ]);
  });

  it('keeps names unique across guests and hosts, and one service per hostname across both', async () => {
    const yaml = withHosts(
      ['  - name: Jellyfin', '    address: 192.168.1.9', '    services:', '      - { hostname: media.example.com, port: 80 }', ''].join(
        '\n',
      ),
      [
        'guests:',
        '  - name: jellyfin',
        '    type: lxc',
        '    vmid: 101',
        '    services:',
        '      - { hostname: media.example.com, port: 8096 }',
        '',
      ].join('\n'),
    );
    const error = await loadError(yaml);
    expect(issueFor(error, 'hosts[0].name').message).toMatch(
      /^name "Jellyfin" is already used by the guest guests\[0\] \(.*inventory\.yaml:\d+:\d+\)$/,
    );
    expect(issueFor(error, 'hosts[0].services[0].hostname').message).toContain(
      'hostname media.example.com is already used by guests[0].services[0]',
    );
  });

  it('refuses addresses that are not an IP or a DNS name, naming the fix', async () => {
    const yaml = withHosts(
      ['https://nas.lan', '192.168.1.5:5000', '192.168.1.0/24', 'nas_box', '[fd00::5]']
        .map((a, i) => `  - name: h${i}\n    address: "${a}"\n`)
        .join(''),
    );
    const error = await loadError(yaml);
    expect(issueFor(error, 'hosts[0].address')).toMatchObject({ message: '"https://nas.lan" must be an address, not a URL' });
    expect(issueFor(error, 'hosts[1].address').hint).toContain('port');
    expect(issueFor(error, 'hosts[2].address').hint).toContain('192.168.1.0');
    expect(issueFor(error, 'hosts[3].address').message).toBe('"nas_box" is neither an IP address nor a DNS name');
    expect(issueFor(error, 'hosts[4].address').hint).toBe('write fd00::5');
    expect(error.issues).toHaveLength(5);
  });

  it('refuses the Proxmox API host as a host address unless proxmoxNode says it is meant', async () => {
    const hosts = (flag: string) =>
      withHosts(
        `  - name: pve\n    address: PVE.lan\n${flag}    services:\n      - { hostname: pve.example.com, port: 8006, scheme: https }\n`,
      );
    const error = await loadError(hosts(''));
    expect(issueFor(error, 'hosts[0].address')).toMatchObject({
      message: 'PVE.lan is a Proxmox node: publishing the hypervisor is refused unless it is meant',
      hint: expect.stringContaining('proxmoxNode: true'),
    });
    const inv = await load(hosts('    proxmoxNode: true\n'));
    expect(inv.hosts[0]!.proxmoxNode).toBe(true);
  });
});

describe('service types', () => {
  const service = (lines: string) => withHosts(`  - name: box\n    address: 192.168.1.9\n    services:\n${lines}`);

  it('accepts every cloudflared service type with the fields it needs', async () => {
    const inv = await load(
      service(
        [
          '      - { hostname: a.example.com, scheme: unix+tls, socket: /run/app.sock }',
          '      - { hostname: b.example.com, scheme: hello_world }',
          '      - { hostname: c.example.com, scheme: bastion }',
          '      - hostname: d.example.com',
          '        scheme: socks',
          '        originRequest:',
          '          ipRules:',
          '            - { prefix: 192.168.1.0/24, ports: [22, 80], allow: true }',
          '            - { prefix: 0.0.0.0/0, allow: false }',
          '      - { path: ^/\\.well-known/, scheme: http_status, status: 403 }',
          '',
        ].join('\n'),
      ),
    );
    expect(inv.hosts[0]!.services.map((s) => [s.hostname, s.scheme])).toEqual([
      ['a.example.com', 'unix+tls'],
      ['b.example.com', 'hello_world'],
      ['c.example.com', 'bastion'],
      ['d.example.com', 'socks'],
      ['', 'http_status'],
    ]);
  });

  it('says which field each type needs or does not use', async () => {
    const error = await loadError(
      service(
        [
          '      - { hostname: a.example.com, scheme: unix+tls }',
          '      - { hostname: b.example.com, scheme: hello_world, port: 80 }',
          '      - { hostname: c.example.com, scheme: bastion, socket: /x }',
          '      - { hostname: d.example.com, scheme: socks }',
          '      - hostname: e.example.com',
          '        scheme: socks',
          '        originRequest: { ipRules: [{ prefix: 192.168.1.5, allow: true }] }',
          '      - { hostname: f.example.com, port: 80, originRequest: { ipRules: [{ prefix: 10.0.0.0/8, allow: true }] } }',
          '      - { hostname: g.example.com, port: 80, originRequest: { bastionMode: true } }',
          '      - { scheme: hello_world }',
          '',
        ].join('\n'),
      ),
    );
    const s = (i: number, f: string) => `hosts[0].services[${i}].${f}`;
    expect(issueFor(error, s(0, 'socket')).message).toBe('is required for scheme unix+tls');
    expect(issueFor(error, s(1, 'port'))).toMatchObject({
      message: 'is not used with scheme hello_world',
      hint: expect.stringContaining('test page'),
    });
    expect(issueFor(error, s(2, 'socket')).message).toBe('is only used with scheme unix or unix+tls');
    expect(issueFor(error, s(3, 'originRequest.ipRules')).message).toContain('cloudflared denies every destination no rule allows');
    expect(issueFor(error, s(4, 'originRequest.ipRules[0].prefix'))).toMatchObject({ hint: 'add the prefix length, e.g. 192.168.1.5/32' });
    expect(issueFor(error, s(5, 'originRequest.ipRules')).message).toBe('is only used with scheme socks');
    expect(issueFor(error, s(6, 'originRequest.bastionMode')).hint).toContain('scheme: bastion');
    expect(issueFor(error, s(7, 'hostname')).message).toContain('only the catch-all may do');
    expect(error.issues).toHaveLength(8);
  });
});

describe('tunnel settings', () => {
  const tunnel = (lines: string) => MINIMAL.replace('tunnel:\n  name: homelab\n', `tunnel:\n  name: homelab\n${lines}`);

  it("normalises cloudflared's settings; YAML numbers for edgeIpVersion and catchAll become cloudflared's strings", async () => {
    const inv = await load(
      tunnel(
        '  protocol: http2\n  edgeIpVersion: 4\n  logLevel: warn\n  gracePeriod: 1m\n  retries: 3\n  originRequest: { connectTimeout: 10s }\n  catchAll: 503\n',
      ),
    );
    expect(inv.tunnel).toEqual({
      name: 'homelab',
      protocol: 'http2',
      edgeIpVersion: '4',
      logLevel: 'warn',
      gracePeriod: '1m',
      retries: 3,
      originRequest: { connectTimeout: '10s' },
      catchAll: 'http_status:503',
    });
    expect((await load(tunnel('  catchAll: hello_world\n'))).tunnel.catchAll).toBe('hello_world');
  });

  it('refuses values cloudflared refuses, and defaults it would not apply to routes', async () => {
    const error = await loadError(
      tunnel(
        [
          '  protocol: h2mux',
          '  edgeIpVersion: 5',
          '  logLevel: trace',
          '  gracePeriod: soon',
          '  originRequest: { access: { required: true }, ipRules: [{ prefix: 10.0.0.0/8, allow: true }], bastionMode: true }',
          '  catchAll: "10.0.0.1:80"',
          '',
        ].join('\n'),
      ),
    );
    for (const field of [
      'protocol',
      'edgeIpVersion',
      'logLevel',
      'gracePeriod',
      'originRequest.access',
      'originRequest.ipRules',
      'originRequest.bastionMode',
    ]) {
      issueFor(error, `tunnel.${field}`);
    }
    // cloudflared's own words for a service without a scheme (url.Parse in validateIngress).
    expect(issueFor(error, 'tunnel.catchAll').message).toBe(
      'is not a service cloudflared accepts: parse "10.0.0.1:80": first path segment in URL cannot contain colon',
    );
    const bastion = await loadError(tunnel('  catchAll: bastion\n'));
    expect(issueFor(bastion, 'tunnel.catchAll').message).toBe('bastion cannot be the catch-all');
  });
});
