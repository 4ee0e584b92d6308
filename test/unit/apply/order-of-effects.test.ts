/**
 * The order rules the README states (Apply order table), proven on the sequence of effects
 * across the three fakes. Each test fails when the rule it names is broken in APPLY_ORDER or
 * in an executor.
 */
import { describe, expect, it } from 'vitest';
import { BASE_INVENTORY, fakeHomelab, type FakeHomelab } from '../../support/fake-homelab.js';

const READS =
  /^(proxmox readState|proxmox listConnectors|cloudflare findTunnel|cloudflare listConnectors|cloudflare listZoneRecords|connector readState|connector probe)/;

/** The writes (and connection/lock events) since `from`, reads left out. */
function writes(lab: FakeHomelab, from = 0): string[] {
  return lab.effects.slice(from).filter((e) => !READS.test(e));
}

function at(list: string[], pattern: RegExp): number {
  const i = list.findIndex((e) => pattern.test(e));
  expect(i, `${pattern} in\n${list.join('\n')}`).toBeGreaterThan(-1);
  return i;
}

describe('order of remote effects', () => {
  it('a fresh homelab: container, tunnel, connect + lock, package, one deploy with every file, DNS, unlock', async () => {
    const lab = await fakeHomelab();
    const run = await lab.cli('sync', '--yes');
    expect(run.code, run.stderr).toBe(0);
    const w = writes(lab);
    expect(w.slice(0, 10)).toEqual([
      'proxmox createLxc',
      'proxmox startLxc',
      'proxmox waitForIp',
      'cloudflare createTunnel homelab',
      'connector connect',
      'connector lock',
      'connector install apt',
      'connector deploy /etc/cloudflared/credentials.json,/etc/cloudflared/config.yml,/etc/systemd/system/cloudflared.service,/usr/local/lib/proxflare/cloudflared-watchdog,/etc/systemd/system/proxflare-watchdog.service,/etc/systemd/system/proxflare-watchdog.timer restart',
      'cloudflare applyDnsChanges example.com +2 ~0 -0',
      'connector unlock',
    ]);
    // Then only the convergence re-read, which connects, recovers the credentials to compare the
    // file by digest (a read), and closes.
    const reread = (e: string) => e === 'connector connect' || e === 'connector close' || e.startsWith('cloudflare recoverCredentials ');
    expect(w.slice(10).every(reread), w.join('\n')).toBe(true);
  });

  it('DNS deletes come before the config swap that drops the rule', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    await lab.write(BASE_INVENTORY.replace(/ {2}- name: nextcloud[\s\S]*$/, ''));
    const from = lab.effects.length;
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const w = writes(lab, from);
    const deleted = at(w, /^cloudflare applyDnsChanges example\.com \+0 ~0 -1$/);
    const swapped = at(w, /^connector deploy .*config\.yml.* restart$/);
    expect(deleted).toBeLessThan(swapped);
  });

  it('DNS creates come only after the restart that serves the new rule', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    await lab.write(
      BASE_INVENTORY.replace('        port: 8096\n', '        port: 8096\n      - hostname: requests.example.com\n        port: 5055\n'),
    );
    const from = lab.effects.length;
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const w = writes(lab, from);
    const restarted = at(w, /^connector deploy .*config\.yml.* restart$/);
    const created = at(w, /^cloudflare applyDnsChanges example\.com \+1 ~0 -0$/);
    expect(restarted).toBeLessThan(created);
  });

  it('DNS updates (a record taken over with --adopt) come only after the restart', async () => {
    const lab = await fakeHomelab();
    lab.cloudflare.addRecord('example.com', {
      name: 'media.example.com',
      type: 'A',
      content: '198.51.100.9',
      proxied: false,
      ttl: 300,
      comment: 'mine',
    });
    const run = await lab.cli('sync', '--adopt', '--yes');
    expect(run.code, run.stderr).toBe(0);
    const w = writes(lab);
    expect(at(w, /^connector deploy .* restart$/)).toBeLessThan(at(w, /^cloudflare applyDnsChanges example\.com \+1 ~1 -0$/));
  });

  it('the tunnel exists before anything that carries its id, and the container before anything on it', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const w = writes(lab);
    const tunnel = at(w, /^cloudflare createTunnel/);
    expect(at(w, /^proxmox waitForIp$/)).toBeLessThan(at(w, /^connector connect$/));
    expect(tunnel).toBeLessThan(at(w, /^connector deploy/));
    expect(tunnel).toBeLessThan(at(w, /^cloudflare applyDnsChanges/));
    expect(at(w, /^connector install/)).toBeLessThan(at(w, /^connector deploy/));
  });
});

describe('the connector lock', () => {
  it('is held while apply touches the connector and released at the end', async () => {
    const lab = await fakeHomelab();
    const heldDuring: Record<string, boolean> = {};
    const { connector } = lab;
    const install = connector.installCloudflared.bind(connector);
    const deploy = connector.deploy.bind(connector);
    connector.installCloudflared = async (s) => ((heldDuring.install = connector.lockHeld), install(s));
    connector.deploy = async (r) => ((heldDuring.deploy = connector.lockHeld), deploy(r));
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    expect(heldDuring).toEqual({ install: true, deploy: true });
    expect(connector.lockHeld).toBe(false);
  });

  it('held by another run: apply stops before writing anything on the connector, naming the lock', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    await lab.write(
      BASE_INVENTORY.replace('        port: 8096\n', '        port: 8096\n      - hostname: requests.example.com\n        port: 5055\n'),
    );
    lab.connector.heldElsewhere = true;
    const from = lab.effects.length;
    const run = await lab.cli('sync', '--yes');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('✗ failed   unit:cloudflared:cloudflared.service (update): another proxflare run holds it');
    expect(run.stderr).toContain('· pending  dns/requests.example.com (create)');
    expect(writes(lab, from).filter((e) => /deploy|install|applyDnsChanges/.test(e))).toEqual([]);
  });
});

describe('connections', () => {
  it('a connection opened during a failing apply is closed', async () => {
    const lab = await fakeHomelab();
    lab.connector.failOnce('deploy', new Error('connection reset by peer'));
    const run = await lab.cli('sync', '--yes');
    expect(run.code).toBe(1);
    const w = writes(lab);
    // Opened after the container started (the read had nothing to connect to), closed after the failure.
    expect(w.filter((e) => e === 'connector connect')).toHaveLength(1);
    expect(w.slice(at(w, /^connector deploy/))).toEqual([
      expect.stringMatching(/^connector deploy/),
      'connector unlock',
      'connector close',
    ]);
  });

  it('every connection a successful sync opens is closed', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const w = writes(lab);
    expect(w.filter((e) => e === 'connector close')).toHaveLength(w.filter((e) => e === 'connector connect').length);
  });
});
