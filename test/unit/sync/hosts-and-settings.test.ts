import { describe, expect, it } from 'vitest';
import { BASE_INVENTORY, fakeHomelab } from '../../support/fake-homelab.js';

/** The fakes' Proxmox reports 192.0.2.1 as the node's own address. */
const NODE = '192.0.2.1';

const withHost = (lines: string) => `${BASE_INVENTORY}hosts:\n${lines}`;
const pve = (extra = '', serviceExtra = '') =>
  withHost(
    `  - name: pve\n    address: ${NODE}\n${extra}    services:\n      - hostname: pve.example.com\n        port: 8006\n        scheme: https\n${serviceExtra}`,
  );

describe('hosts in sync --dry-run', () => {
  it('publishes a host by address, without a Proxmox lookup for it', async () => {
    const lab = await fakeHomelab(
      withHost('  - name: nas\n    address: 192.0.2.5\n    services:\n      - { hostname: nas.example.com, port: 5001, scheme: https }\n'),
    );
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('nas.example.com → https://192.0.2.5:5001  (host nas)');
    expect(dry.stdout).toContain('# dns/nas.example.com will be created');
    expect(dry.stdout).toMatch(/ {10}- hostname: nas\.example\.com\n {12}service: https:\/\/192\.0\.2\.5:5001\n/);

    // A DNS name is left for the connector to resolve.
    await lab.write(withHost('  - name: nas\n    address: NAS.lan\n    services:\n      - { hostname: nas.example.com, port: 5000 }\n'));
    const byName = await lab.cli('sync', '--dry-run');
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout).toContain('nas.example.com → http://nas.lan:5000  (host nas)');
  });

  it("refuses the Proxmox node's address on a host without proxmoxNode, and writes nothing", async () => {
    const lab = await fakeHomelab(pve());
    const r = await lab.cli('sync', '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /inventory\.yaml:\d+:\d+ host "pve": 192\.0\.2\.1 is a Proxmox node: publishing the hypervisor is refused unless it is meant \(add `proxmoxNode: true`/,
    );
    expect(lab.proxmox.actions).toEqual(['readState']);
    expect(lab.connector.files.size).toBe(0);
  });

  it('with proxmoxNode: true, plans the route and warns loudly while it has no Access', async () => {
    const lab = await fakeHomelab(pve('    proxmoxNode: true\n'));
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('pve.example.com → https://192.0.2.1:8006  (host pve)');
    expect(dry.stdout).toMatch(
      /Warning: .*inventory\.yaml:\d+:\d+ pve\.example\.com publishes the Proxmox node pve \(192\.0\.2\.1\) WITHOUT Access/,
    );

    await lab.write(
      pve('    proxmoxNode: true\n', '        originRequest:\n          access: { required: true, teamName: homelab, audTag: [aud1] }\n'),
    );
    const protectedDry = await lab.cli('sync', '--dry-run');
    expect(protectedDry.code, protectedDry.stderr).toBe(0);
    expect(protectedDry.stdout).not.toContain('WITHOUT Access');
  });

  it('refuses a loopback or link-local host like a guest, and brackets an IPv6 host', async () => {
    const lab = await fakeHomelab(
      withHost(
        ['127.0.0.1', 'localhost', '169.254.0.9']
          .map((a, i) => `  - name: h${i}\n    address: ${a}\n    services:\n      - { hostname: h${i}.example.com, port: 80 }\n`)
          .join(''),
      ),
    );
    const r = await lab.cli('sync', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'host "h0": 127.0.0.1 is a loopback address: cloudflared on the connector would reach the connector itself, not the host',
    );
    expect(r.stderr).toContain('host "h1": localhost is a loopback address');
    expect(r.stderr).toContain('host "h2": 169.254.0.9 is a link-local address');
    await lab.write(
      withHost('  - name: v6\n    address: fd00::5\n    services:\n      - { hostname: v6.example.com, port: 8443, scheme: https }\n'),
    );
    const v6 = await lab.cli('sync', '--dry-run');
    expect(v6.code, v6.stderr).toBe(0);
    expect(v6.stdout).toContain('v6.example.com → https://[fd00::5]:8443  (host v6)');
  });

  it("still refuses the node's address when Proxmox reports it for a guest (a mis-discovery)", async () => {
    const lab = await fakeHomelab();
    lab.proxmox.guestIps.set('jellyfin', { ok: true, ip: NODE, source: 'agent' });
    const r = await lab.cli('sync', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('guest "jellyfin" (192.0.2.1, from agent): 192.0.2.1 is the address of a Proxmox node');
  });
});

describe('tunnel settings', () => {
  it('refuses a catch-all that points at the Proxmox node', async () => {
    const lab = await fakeHomelab(
      BASE_INVENTORY.replace('tunnel:\n  name: homelab\n', `tunnel:\n  name: homelab\n  catchAll: https://${NODE}:8006\n`),
    );
    const r = await lab.cli('sync', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/inventory\.yaml:\d+:\d+ tunnel\.catchAll: 192\.0\.2\.1 is the address of a Proxmox node/);
  });

  it('a changed setting is a config.yml diff and a restart; the next plan is empty', async () => {
    const lab = await fakeHomelab();
    const first = await lab.cli('sync', '--yes');
    expect(first.code, first.stderr).toBe(0);
    await lab.write(
      BASE_INVENTORY.replace(
        'tunnel:\n  name: homelab\n',
        'tunnel:\n  name: homelab\n  logLevel: warn\n  protocol: http2\n  catchAll: 503\n',
      ),
    );
    const dry = await lab.cli('sync', '--dry-run', '--detailed-exitcode');
    expect(dry.code, dry.stderr).toBe(2);
    expect(dry.stdout).toContain('+loglevel: warn');
    expect(dry.stdout).toContain('+protocol: http2');
    expect(dry.stdout).toContain('-  - service: http_status:404');
    expect(dry.stdout).toContain('+  - service: http_status:503');
    expect(dry.stdout).toMatch(/restart/);
    const second = await lab.cli('sync', '--yes');
    expect(second.code, second.stderr).toBe(0);
    expect(lab.connector.restarts).toBe(2);
    expect(lab.connector.files.get('/etc/cloudflared/config.yml')!.content).toContain('loglevel: warn\n');
    expect((await lab.cli('sync', '--dry-run', '--detailed-exitcode')).code).toBe(0);
  });
});
