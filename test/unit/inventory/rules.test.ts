import { describe, expect, it } from 'vitest';
import { ENV, MINIMAL, PVE_SECRET, CF_TOKEN, issueFor, load, loadError, positionOf, writeInventory } from './helpers.js';
import { loadInventory } from '../../../src/inventory/load.js';

/** MINIMAL plus one guest whose services are the given YAML lines (indented under services:). */
function withServices(services: string, zoneLine = 'zone: example.com'): string {
  return `${MINIMAL.replace('zone: example.com', zoneLine)}guests:\n  - name: app\n    type: lxc\n    vmid: 101\n    services:\n${services}`;
}

describe('required fields and types', () => {
  it('points a missing field at the map that should hold it', async () => {
    const yaml = MINIMAL.replace('  url: https://pve.lan:8006\n', '');
    const issue = issueFor(await loadError(yaml), 'proxmox.url');
    expect(issue).toMatchObject({ ...positionOf(yaml, 'tokenId:'), message: 'is required' });
    expect(issue.hint).toContain('add `url: https://pve.lan:8006` under proxmox');
  });

  it('reports a missing section at the top of the file', async () => {
    const yaml = MINIMAL.replace('tunnel:\n  name: homelab\n', '');
    expect(issueFor(await loadError(yaml), 'tunnel')).toMatchObject({ line: 1, column: 1, message: 'is required' });
  });

  it('names the expected and the actual type', async () => {
    const yaml = `${MINIMAL}  disk: big\n  onboot: yes\n`;
    const error = await loadError(yaml);
    expect(issueFor(error, 'connector.disk')).toMatchObject({
      ...positionOf(yaml, 'big'),
      message: 'must be a whole number, not a string',
    });
    expect(issueFor(error, 'connector.onboot')).toMatchObject({
      message: 'must be true or false, not a string',
      hint: 'write true or false (yes/no/on/off are plain text in YAML 1.2)',
    });
  });

  it('rejects a file that is empty, not a map, missing, or broken YAML (with its position)', async () => {
    expect((await loadError('# nothing\n')).issues[0]).toMatchObject({ line: 1, column: 1, message: 'the inventory is empty' });
    expect((await loadError('- a\n- b\n')).issues[0]!.message).toMatch(/must be a map/);
    const missing = await loadError('/nonexistent/dir/inventory.yaml');
    expect(missing.issues[0]).toMatchObject({ message: 'the inventory file does not exist' });
    expect(missing.issues[0]!.hint).toContain('proxflare init');
    const broken = `${MINIMAL}guests:\n  - name: [a, b\n    type: lxc\n`;
    const error = await loadError(broken);
    expect(error.issues[0]!.message).toMatch(/^YAML syntax error/);
    expect(error.issues[0]!.line).toBeGreaterThanOrEqual(16);
  });

  it('refuses alias bombs and unknown aliases', async () => {
    const levels = ['x-a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `x-${i}: &l${i} [${Array(9)
          .fill(i === 1 ? '*a' : `*l${i - 1}`)
          .join(', ')}]`,
      );
    const bomb = await loadError(`${levels.join('\n')}\n${MINIMAL}`);
    expect(bomb.issues[0]!.message).toMatch(/^YAML aliases expand too much/);
    const yaml = `${MINIMAL}guests: *nope\n`;
    const unknown = await loadError(yaml);
    expect(unknown.issues[0]).toMatchObject({ ...positionOf(yaml, '*nope'), message: 'YAML alias *nope has no anchor' });
  });

  it('reports duplicate keys as YAML errors', async () => {
    const yaml = MINIMAL.replace('  node: pve\n', '  node: pve\n  node: pve2\n');
    const error = await loadError(yaml);
    expect(error.issues[0]).toMatchObject({ ...positionOf(yaml, 'node: pve2'), message: 'YAML syntax error: Map keys must be unique' });
  });
});

describe('unknown keys', () => {
  it('suggests the closest key', async () => {
    const yaml = `${MINIMAL}gusts: []\n`;
    expect(issueFor(await loadError(yaml), 'gusts')).toMatchObject({
      ...positionOf(yaml, 'gusts'),
      message: 'unknown key "gusts"',
      hint: 'did you mean `guests`?',
    });
  });

  it('lists the allowed keys when nothing is close', async () => {
    const issue = issueFor(await loadError(`${MINIMAL}  flavour: vanilla\n`), 'connector.flavour');
    expect(issue.hint).toMatch(/^allowed here: hostname, node, vmid, template, storage/);
  });

  it("checks originRequest keys against cloudflared's list, case-insensitively close", async () => {
    const yaml = withServices(
      '      - hostname: a.example.com\n        port: 1\n        originRequest:\n          notlsverify: true\n          conectTimeout: 5s\n          http2origin: true\n',
    );
    const error = await loadError(yaml);
    const base = 'guests[0].services[0].originRequest';
    expect(issueFor(error, `${base}.notlsverify`)).toMatchObject({
      ...positionOf(yaml, 'notlsverify'),
      hint: 'did you mean `noTLSVerify`?',
    });
    expect(issueFor(error, `${base}.conectTimeout`).hint).toBe('did you mean `connectTimeout`?');
    expect(issueFor(error, `${base}.http2origin`).hint).toBe('did you mean `http2Origin`?');
  });

  it('checks originRequest value types and Go durations', async () => {
    const yaml = withServices(
      '      - hostname: a.example.com\n        port: 1\n        originRequest: { connectTimeout: banana, noTLSVerify: "yes", proxyType: socks5 }\n',
    );
    const error = await loadError(yaml);
    const base = 'guests[0].services[0].originRequest';
    expect(issueFor(error, `${base}.connectTimeout`)).toMatchObject({ message: 'is not a Go duration', ...positionOf(yaml, 'banana') });
    expect(issueFor(error, `${base}.noTLSVerify`).message).toBe('must be true or false, not a string');
    expect(issueFor(error, `${base}.proxyType`).message).toBe('must be one of "", socks');
  });
});

describe('services', () => {
  it('checks port ranges', async () => {
    const yaml = withServices('      - hostname: a.example.com\n        port: 0\n');
    expect(issueFor(await loadError(yaml), 'guests[0].services[0].port')).toMatchObject({
      ...positionOf(yaml, 'port: 0', 6),
      message: 'must be between 1 and 65535',
    });
  });

  it('requires what each scheme needs and refuses what it does not use', async () => {
    const yaml = withServices(
      [
        '      - hostname: a.example.com',
        '        scheme: https',
        '      - hostname: b.example.com',
        '        scheme: unix',
        '        port: 80',
        '      - hostname: c.example.com',
        '        scheme: http_status',
        '        port: 80',
        '      - hostname: d.example.com',
        '        port: 80',
        '        socket: /run/x.sock',
        '        status: 404',
        '      - hostname: e.example.com',
        '        scheme: htps',
        '        port: 443',
        '',
      ].join('\n'),
    );
    const error = await loadError(yaml);
    const s = (i: number, f: string) => `guests[0].services[${i}].${f}`;
    expect(issueFor(error, s(0, 'port'))).toMatchObject({ ...positionOf(yaml, 'hostname: a'), message: 'is required for scheme https' });
    expect(issueFor(error, s(0, 'port')).hint).toContain('443');
    expect(issueFor(error, s(1, 'socket')).message).toBe('is required for scheme unix');
    expect(issueFor(error, s(1, 'port')).message).toBe('is not used with scheme unix');
    expect(issueFor(error, s(2, 'status')).message).toBe('is required for scheme http_status');
    expect(issueFor(error, s(2, 'port')).message).toBe('is not used with scheme http_status');
    expect(issueFor(error, s(3, 'socket')).message).toBe('is only used with scheme unix or unix+tls');
    expect(issueFor(error, s(3, 'status')).message).toBe('is only used with scheme http_status');
    expect(issueFor(error, s(4, 'scheme'))).toMatchObject({
      message: 'must be one of http, https, tcp, ssh, rdp, unix, unix+tls, http_status, hello_world, bastion, socks',
      hint: 'did you mean `https`?',
    });
    expect(error.issues).toHaveLength(8);
  });

  it('checks path regexes with Go (RE2) syntax, as cloudflared does', async () => {
    const yaml = withServices(
      '      - hostname: a.example.com\n        port: 1\n        path: "^/(?!admin)"\n      - hostname: a.example.com\n        port: 1\n        path: "(?i)^/API/"\n',
    );
    const error = await loadError(yaml);
    expect(error.issues.map((i) => i.field)).toEqual(['guests[0].services[0].path']);
    expect(issueFor(error, 'guests[0].services[0].path')).toMatchObject({
      ...positionOf(yaml, '"^/(?!admin)"'),
      message: 'is not a valid regular expression for cloudflared: error parsing regexp: invalid or unsupported Perl syntax: `(?!`',
    });
  });

  it.each(['30s', '1m30s', '1.5h', '.5s', '0', '250ms'])('accepts the Go duration %s', async (duration) => {
    await expect(
      load(withServices(`      - hostname: a.example.com\n        port: 1\n        originRequest: { connectTimeout: "${duration}" }\n`)),
    ).resolves.toBeTruthy();
  });

  it.each(['30', '1 m', '-5s', '5sec', 's'])('rejects the duration %s', async (duration) => {
    const error = await loadError(
      withServices(`      - hostname: a.example.com\n        port: 1\n        originRequest: { tlsTimeout: "${duration}" }\n`),
    );
    expect(issueFor(error, 'guests[0].services[0].originRequest.tlsTimeout').message).toBe('is not a Go duration');
  });

  it('needs access.teamName when audTag is required (cloudflared refuses it otherwise)', async () => {
    const yaml = withServices(
      '      - hostname: a.example.com\n        port: 1\n        originRequest:\n          access: { required: true, audTag: [abc] }\n',
    );
    const issue = issueFor(await loadError(yaml), 'guests[0].services[0].originRequest.access.teamName');
    expect(issue).toMatchObject({ message: 'is required when audTag is set', ...positionOf(yaml, '{ required') });
  });

  it('explains how to write a service that is not a map', async () => {
    const yaml = withServices('      - a.example.com\n');
    const issue = issueFor(await loadError(yaml), 'guests[0].services[0]');
    expect(issue).toMatchObject({
      message: 'must be a map (indented key: value lines), not a string',
      ...positionOf(yaml, 'a.example.com'),
    });
    expect(issue.hint).toContain('write it as indented `key: value` lines');
  });

  it('checks http_status codes', async () => {
    const error = await loadError(withServices('      - hostname: a.example.com\n        scheme: http_status\n        status: 99\n'));
    expect(issueFor(error, 'guests[0].services[0].status').message).toBe('must be between 100 and 999');
  });

  it('names both positions of a duplicate hostname, but allows the same hostname with different paths', async () => {
    const yaml = withServices('      - hostname: a.example.com\n        port: 1\n      - hostname: A.example.com\n        port: 2\n');
    const file = await writeInventory(yaml);
    const error = await loadError(file);
    const first = positionOf(yaml, 'a.example.com');
    expect(issueFor(error, 'guests[0].services[1].hostname')).toMatchObject({
      ...positionOf(yaml, 'A.example.com'),
      message: `hostname a.example.com is already used by guests[0].services[0] (${file}:${first.line}:${first.column})`,
    });
    const ok = withServices(
      '      - hostname: a.example.com\n        port: 1\n      - hostname: a.example.com\n        path: ^/api/\n        port: 2\n',
    );
    await expect(load(ok)).resolves.toBeTruthy();
  });

  it('finds duplicates across guests too', async () => {
    const yaml = `${withServices('      - hostname: a.example.com\n        port: 1\n')}  - name: other\n    type: vm\n    vmid: 102\n    services:\n      - hostname: a.example.com\n        port: 1\n`;
    expect(issueFor(await loadError(yaml), 'guests[1].services[0].hostname').message).toContain('already used by guests[0].services[0]');
  });

  it('rejects hostnames outside the zones and names the zones', async () => {
    const one = await loadError(withServices('      - hostname: a.example.net\n        port: 1\n'));
    expect(issueFor(one, 'guests[0].services[0].hostname').message).toBe('hostname a.example.net is not in the zone example.com');
    const many = await loadError(withServices('      - hostname: a.example.net\n        port: 1\n', 'zones: [example.com, example.org]'));
    expect(issueFor(many, 'guests[0].services[0].hostname').message).toBe(
      'hostname a.example.net is not in any of the zones example.com, example.org',
    );
    // "notexample.com" ends with "example.com" but is not inside it.
    const lookalike = await loadError(withServices('      - hostname: notexample.com\n        port: 1\n'));
    expect(issueFor(lookalike, 'guests[0].services[0].hostname').message).toContain('is not in the zone example.com');
  });

  it.each([
    ['a.*.example.com', 'uses "*" in the wrong place'],
    ['"*example.com"', 'uses "*" in the wrong place'],
    ['"*"', 'uses "*" in the wrong place'],
    ['a.example.com:8080', 'cannot contain a port'],
    ['https://a.example.com', 'must not include a scheme'],
    ['a.example.com/app', 'must not contain a path'],
    ['bad_label.example.com', 'is not a valid DNS name'],
    ['-a.example.com', 'is not a valid DNS name'],
    ['media', 'is not fully qualified'],
  ])('rejects hostname %s', async (hostname, message) => {
    const yaml = withServices(`      - hostname: ${hostname}\n        port: 1\n`);
    const issue = issueFor(await loadError(yaml), 'guests[0].services[0].hostname');
    expect(issue.message).toContain(message);
    expect(issue).toMatchObject(positionOf(yaml, `hostname: ${hostname}`, 10));
    expect(issue.hint).toBeTruthy();
  });

  it('suggests moving a port out of the hostname', async () => {
    const issue = issueFor(await loadError(withServices('      - hostname: a.example.com:8080\n')), 'guests[0].services[0].hostname');
    expect(issue.hint).toBe('write `hostname: a.example.com` and `port: 8080` (the port of the service on the guest)');
  });

  it('warns about hostnames two levels below the zone (Universal SSL covers one level)', async () => {
    const yaml = withServices(
      '      - hostname: a.b.example.com\n        port: 1\n      - hostname: "*.lab.example.com"\n        port: 1\n      - hostname: "*.example.com"\n        port: 1\n      - hostname: example.com\n        port: 1\n',
    );
    const file = await writeInventory(yaml);
    const inv = await loadInventory(file, { env: ENV });
    const p = positionOf(yaml, 'a.b.example.com');
    expect(inv.warnings).toHaveLength(2);
    expect(inv.warnings[0]).toMatch(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${p.line}:${p.column} guests\\[0\\]\\.services\\[0\\]\\.hostname: a\\.b\\.example\\.com is more than one level below example\\.com`,
      ),
    );
    expect(inv.warnings[0]).toContain('Universal SSL');
    expect(inv.warnings[1]).toContain('*.lab.example.com is more than one level below');
  });

  it('uses the longest matching zone', async () => {
    const inv = await load(withServices('      - hostname: a.lab.example.com\n        port: 1\n', 'zones: [example.com, lab.example.com]'));
    expect(inv.warnings).toEqual([]);
  });
});

describe('guests', () => {
  it('rejects duplicate vmids, also against the connector, and duplicate names ignoring case', async () => {
    const yaml = `${MINIMAL}  vmid: 150\nguests:\n  - name: Web\n    type: lxc\n    vmid: 150\n  - name: web\n    type: vm\n    vmid: 151\n`;
    const file = await writeInventory(yaml);
    const error = await loadError(file);
    const connectorVmid = positionOf(yaml, 'vmid: 150', 6);
    expect(issueFor(error, 'guests[0].vmid').message).toBe(
      `vmid 150 is already used by connector.vmid (${file}:${connectorVmid.line}:${connectorVmid.column})`,
    );
    expect(issueFor(error, 'guests[1].name').message).toContain('guest name "web" is already used by guests[0]');
  });

  it('checks type, vmid range, guest ip and name', async () => {
    const yaml = `${MINIMAL}guests:\n  - name: my_app\n    type: ct\n    vmid: 99\n    ip: 10.0.0.5/24\n`;
    const error = await loadError(yaml);
    expect(issueFor(error, 'guests[0].type').message).toBe('must be one of lxc, vm');
    expect(issueFor(error, 'guests[0].vmid')).toMatchObject({
      message: 'vmid must be between 100 and 999999999',
      ...positionOf(yaml, '99'),
    });
    expect(issueFor(error, 'guests[0].ip').hint).toBe('write the address without the prefix length: 10.0.0.5');
    expect(issueFor(error, 'guests[0].name').message).toBe('"my_app" is not a valid guest name');
  });
});

describe('proxmox and cloudflare settings', () => {
  it('checks tokenId, accountId, fingerprint and url', async () => {
    const yaml = MINIMAL.replace('${PVE_TOKEN_ID}', 'root@pam')
      .replace('0123456789abcdef0123456789abcdef', 'abc123')
      .replace('  node: pve\n', '  node: pve\n  fingerprint: AA:BB\n')
      .replace('https://pve.lan:8006', 'pve.lan:8006/api2/json');
    const error = await loadError(yaml);
    expect(issueFor(error, 'proxmox.tokenId')).toMatchObject({
      message: 'must look like user@realm!tokenname',
      ...positionOf(yaml, 'root@pam'),
    });
    expect(issueFor(error, 'cloudflare.accountId').message).toBe('must be 32 hex characters');
    expect(issueFor(error, 'proxmox.fingerprint').message).toContain('32 hex bytes separated by colons');
    expect(issueFor(error, 'proxmox.url').message).toBe('is not an http(s) URL');
  });

  it('explains that proxmox-api needs a lower-case UUID secret without printing the secret', async () => {
    const upper = PVE_SECRET.toUpperCase();
    const error = await loadError(MINIMAL, { env: { ...ENV, PVE_TOKEN_SECRET: upper } });
    const issue = issueFor(error, 'proxmox.tokenSecret');
    expect(issue.message).toBe('must be a lower-case UUID (the proxmox-api client throws otherwise)');
    expect(error.message).not.toContain(upper);
    expect(error.message.toLowerCase()).not.toContain(PVE_SECRET);
  });

  it('never quotes secrets in messages, even when they are pasted into the file next to broken YAML', async () => {
    const pasted = MINIMAL.replace('${PVE_TOKEN_SECRET}', `${PVE_SECRET}x`).replace('${CLOUDFLARE_API_TOKEN}', CF_TOKEN);
    const error = await loadError(pasted);
    expect(issueFor(error, 'proxmox.tokenSecret')).toBeTruthy();
    expect(error.message).not.toContain(PVE_SECRET);
    expect(JSON.stringify(error.issues)).not.toContain(PVE_SECRET);
    const broken = `${pasted}guests: [\n  {name: x, type: lxc\n`;
    const syntax = await loadError(broken);
    expect(syntax.message).toContain('YAML syntax error');
    expect(syntax.message).not.toContain(PVE_SECRET);
    expect(syntax.message).not.toContain(CF_TOKEN);
  });

  it('hides a pasted secret that yaml quotes in a syntax error', async () => {
    const yaml = MINIMAL.replace('apiToken: ${CLOUDFLARE_API_TOKEN}', `apiToken: |x ${CF_TOKEN}`);
    const error = await loadError(yaml);
    expect(error.issues.map((i) => i.message)).toContain('YAML syntax error: Not a YAML token: (sensitive)');
    expect(error.message).not.toContain(CF_TOKEN);
  });

  it('warns when secrets are written in the file instead of the environment', async () => {
    const inv = await load(MINIMAL.replace('${CLOUDFLARE_API_TOKEN}', CF_TOKEN));
    inv.warnings = inv.warnings.filter((w) => !w.includes('nothing is published')); // MINIMAL has no guests
    expect(inv.warnings).toHaveLength(1);
    expect(inv.warnings[0]).toContain('cloudflare.apiToken: the secret is written in the inventory; move it to .env');
    expect(inv.warnings[0]).not.toContain(CF_TOKEN);
  });

  it('warns about insecure TLS and plain http to a remote host', async () => {
    const inv = await load(
      MINIMAL.replace('https://pve.lan:8006', 'http://pve.lan').replace('  node: pve\n', '  node: pve\n  insecure: true\n'),
    );
    expect(inv.warnings.join('\n')).toContain('uses plain http');
    expect(inv.warnings.join('\n')).toContain('TLS verification of the Proxmox API is OFF');
  });

  it('wants exactly one of zone and zones', async () => {
    const both = await loadError(MINIMAL.replace('zone: example.com', 'zone: example.com\n  zones: [example.org]'));
    expect(issueFor(both, 'cloudflare.zones').message).toBe('set either `zone` or `zones`, not both');
    const yaml = MINIMAL.replace('  zone: example.com\n', '');
    const neither = await loadError(yaml);
    expect(issueFor(neither, 'cloudflare.zone')).toMatchObject({ message: 'is required', ...positionOf(yaml, 'apiToken') });
    const bad = await loadError(MINIMAL.replace('zone: example.com', 'zone: "*.example.com"'));
    expect(issueFor(bad, 'cloudflare.zone').message).toContain('is not a valid zone name');
  });

  it('refuses a UUID as tunnel name', async () => {
    const error = await loadError(MINIMAL.replace('name: homelab', 'name: 6ff42ae2-765d-4adf-8112-31c55c1551ef'));
    expect(issueFor(error, 'tunnel.name').message).toBe('must not be a UUID');
  });
});

describe('connector', () => {
  it('needs a single DNS label as hostname', async () => {
    const yaml = `${MINIMAL}  hostname: cloudflared.lan\n`;
    expect(issueFor(await loadError(yaml), 'connector.hostname')).toMatchObject({
      message: '"cloudflared.lan" is not a valid hostname label',
      ...positionOf(yaml, 'cloudflared.lan'),
    });
  });

  it.each([
    ['{ ip: 192.168.1.300/24 }', 'connector.network.ip', 'is neither dhcp nor an IPv4 address'],
    ['{ ip: 192.168.1.5/33 }', 'connector.network.ip', 'is neither dhcp nor an IPv4 address'],
    ['{ ip: dhcp, gw: 192.168.1.1 }', 'connector.network.gw', 'is only used with a static ip'],
    ['{ ip: 192.168.1.5/24, gw: 192.168.2.1 }', 'connector.network.gw', 'gateway 192.168.2.1 is outside 192.168.1.5/24'],
    ['{ ip: 192.168.1.5/24, gw: fe80::1 }', 'connector.network.gw', 'is not an IPv4 address'],
    ['{ vlan: 0 }', 'connector.network.vlan', 'must be between 1 and 4094'],
    ['{ bridge: "vmbr 0" }', 'connector.network.bridge', 'is not a valid bridge name'],
  ])('checks network %s', async (network, field, message) => {
    const issue = issueFor(await loadError(`${MINIMAL}  network: ${network}\n`), field);
    expect(issue.message).toContain(message);
  });

  it('needs a path for a .deb source and only then', async () => {
    const deb = await loadError(`${MINIMAL}  cloudflared: { source: deb }\n`);
    expect(issueFor(deb, 'connector.cloudflared.path').message).toBe('is required when source is deb');
    const apt = await loadError(`${MINIMAL}  cloudflared: { path: ./c.deb }\n`);
    expect(issueFor(apt, 'connector.cloudflared.path').message).toBe('is only used with `source: deb`');
  });
});
