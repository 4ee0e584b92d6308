import { describe, expect, it } from 'vitest';
import { clockCheck } from '../../../src/doctor/check-connectors.js';
import { hasPrivilege, neededPrivileges } from '../../../src/doctor/proxmox-privileges.js';
import { supportsRestartSteps, withRestartBackoff } from '../../../src/render/watchdog.js';
import { createRenderer } from '../../../src/render/templates.js';
import { load, MINIMAL } from '../inventory/helpers.js';

const WITH_VM = `${MINIMAL}guests:
  - name: nextcloud
    type: vm
    vmid: 200
    services:
      - { hostname: cloud.example.com, port: 8080 }
`;

describe('doctor: privileges per Proxmox release', () => {
  it('names the guest-agent privilege as the release does: VM.Monitor on PVE 8, VM.GuestAgent.Audit on 9', async () => {
    const inventory = await load(WITH_VM);
    const names = (release: string) => neededPrivileges(inventory, release).map((n) => n.privilege);
    expect(names('8.4')).toContain('VM.Monitor');
    expect(names('8.4')).not.toContain('VM.GuestAgent.Audit');
    expect(names('9.1')).toContain('VM.GuestAgent.Audit');
    expect(names('9.1')).not.toContain('VM.Monitor');
    // Without a VM whose address comes from the agent, neither is needed.
    expect(neededPrivileges(await load(MINIMAL), '9.1').map((n) => n.privilege)).not.toContain('VM.GuestAgent.Audit');
  });

  it('checks each privilege on its path: storages and the bridge of the connector, Sys.Audit optional', async () => {
    const needed = neededPrivileges(await load(MINIMAL), '9.1');
    expect(needed).toContainEqual({
      privilege: 'Datastore.AllocateSpace',
      path: '/storage/local-lvm',
      for: "the connector's root disk on local-lvm",
    });
    expect(needed).toContainEqual(expect.objectContaining({ privilege: 'Datastore.AllocateTemplate', path: '/storage/local' }));
    expect(needed).toContainEqual(expect.objectContaining({ privilege: 'SDN.Use', path: '/sdn/zones/localnetwork/vmbr0' }));
    expect(needed.find((n) => n.privilege === 'Sys.Audit')?.optional).toBe(true);
  });

  it('ACLs propagate down the tree, never up or sideways', () => {
    const privs = { '/storage': ['Datastore.Audit'], '/vms/100': ['VM.Audit'], '/': ['SDN.Use'] };
    expect(hasPrivilege(privs, 'Datastore.Audit', '/storage/local')).toBe(true);
    expect(hasPrivilege(privs, 'SDN.Use', '/sdn/zones/localnetwork/vmbr0')).toBe(true);
    expect(hasPrivilege(privs, 'VM.Audit', '/vms')).toBe(false);
    expect(hasPrivilege({ '/storage/local': ['Datastore.Audit'] }, 'Datastore.Audit', '/storage/local-lvm')).toBe(false);
  });
});

describe('doctor: clock skew', () => {
  const at = 1_800_000_000_000;
  it.each([
    [1_800_000_000, 'ok', 'in sync with this machine'],
    [1_800_000_004, 'ok', '4 s ahead of this machine'],
    [1_799_999_990, 'warn', '10 s behind this machine'],
    [1_800_000_600, 'fail', '600 s ahead of this machine'],
  ])('connector at %i → %s', (remote, status, detail) => {
    const c = clockCheck('connector:x.clock', 'lxc/x', remote, at);
    expect([c.status, c.detail]).toEqual([status, detail]);
    if (status !== 'ok') expect(c.fix).toMatch(/NTP/);
  });
});

describe('cloudflared.service restart back-off', () => {
  it('adds RestartSteps=/RestartMaxDelaySec= and StartLimitIntervalSec=0 to the rendered unit, once', () => {
    const unit = createRenderer().renderUnit({ binary: '/usr/bin/cloudflared', configPath: '/etc/cloudflared/config.yml' });
    const backoff = withRestartBackoff(unit);
    expect(backoff).toMatch(/^Restart=on-failure\nRestartSec=5s\nRestartSteps=6\nRestartMaxDelaySec=300s$/m);
    expect(backoff).toMatch(/^\[Unit\]\nStartLimitIntervalSec=0$/m);
    expect(withRestartBackoff(backoff)).toBe(backoff);
    expect(withRestartBackoff('[Unit]\n[Service]\nExecStart=/bin/true\n')).toBe('[Unit]\n[Service]\nExecStart=/bin/true\n');
  });

  it('uses them from systemd 254; before the replica is read, guesses from its template', () => {
    expect(supportsRestartSteps(252, 'debian-13')).toBe(false);
    expect(supportsRestartSteps(254, 'debian-12')).toBe(true);
    expect(supportsRestartSteps(undefined, 'local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst')).toBe(false);
    expect(supportsRestartSteps(undefined, 'local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst')).toBe(true);
    expect(supportsRestartSteps(undefined, 'ubuntu-24.04-standard')).toBe(true);
  });
});
