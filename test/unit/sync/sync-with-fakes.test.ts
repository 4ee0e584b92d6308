import { describe, expect, it } from 'vitest';
import { BASE_INVENTORY, CF_TOKEN, PVE_SECRET, fakeHomelab } from '../../support/fake-homelab.js';

const CONFIG = '/etc/cloudflared/config.yml';
const CREDENTIALS = '/etc/cloudflared/credentials.json';

function noSecrets(...texts: string[]): void {
  for (const t of texts) {
    expect(t).not.toContain(PVE_SECRET);
    expect(t).not.toContain(CF_TOKEN);
  }
}

describe('sync over the in-memory fakes', () => {
  it('plans everything on a fresh homelab, applies it, and then has nothing left to do', async () => {
    const lab = await fakeHomelab();
    const dry = await lab.cli('sync', '--dry-run', '--detailed-exitcode');
    expect(dry.code).toBe(2);
    expect(dry.stdout).toContain('# lxc/cloudflared will be created');
    expect(dry.stdout).toContain('# tunnel/homelab will be created');
    expect(dry.stdout).toContain('# dns/media.example.com will be created');
    expect(dry.stdout).toContain('# file:cloudflared:/etc/cloudflared/config.yml will be created');
    expect(dry.stdout).toContain('media.example.com → http://192.0.2.11:8096');
    expect(dry.stdout).toContain('(jellyfin, address from interfaces)');
    expect(dry.stdout).toMatch(/Plan: 12 to add, 0 to change, 0 to destroy\./);
    // A dry run touches nothing.
    expect(lab.proxmox.actions).toEqual(['readState']);
    expect(lab.cloudflare.actions.every((a) => a.startsWith('find') || a.startsWith('list'))).toBe(true);

    const applied = await lab.cli('sync', '--yes');
    expect(applied.code, applied.stderr).toBe(0);
    // Progress goes to stderr, in apply order; stdout keeps the plan and the result.
    const progress = applied.stderr.split('\n').filter((l) => l.startsWith('✓ '));
    expect(progress).toEqual([
      '✓ plan',
      '✓ lxc/cloudflared: running at 192.0.2.50',
      expect.stringMatching(/^✓ tunnel\/homelab: id [0-9a-f-]{36}$/),
      '✓ package:cloudflared:cloudflared: cloudflared 2026.8.2',
      '✓ unit:cloudflared:cloudflared.service: restarted',
      expect.stringMatching(/^✓ tunnel\/homelab: connector \S+ \(cloudflared 2026\.8\.2\), 4 connections$/),
      '✓ dns/example.com',
      '✓ sync',
    ]);
    expect(applied.stdout).not.toMatch(/creating container|running at|restarted\n/);
    expect(applied.stdout).toContain('Re-read after apply: no changes left.');
    expect(lab.proxmox.connector?.status).toBe('running');
    expect(lab.cloudflare.tunnels).toHaveLength(1);
    const tunnelId = lab.cloudflare.tunnels[0]!.id;
    const config = lab.connector.files.get(CONFIG)!.content;
    expect(config).toContain(`tunnel: ${tunnelId}`);
    expect(config).toContain('http_status:404');
    expect(lab.connector.files.get(CREDENTIALS)!.mode).toBe(0o600);
    expect(JSON.parse(lab.connector.files.get(CREDENTIALS)!.content).TunnelID).toBe(tunnelId);
    const records = lab.cloudflare.zones.get('example.com')!.records;
    expect(records.map((r) => [r.name, r.content, r.proxied])).toEqual(
      [
        ['cloud.example.com', `${tunnelId}.cfargotunnel.com`, true],
        ['media.example.com', `${tunnelId}.cfargotunnel.com`, true],
      ].sort(),
    );
    expect(lab.connector.restarts).toBe(1);

    const again = await lab.cli('sync', '--dry-run', '--detailed-exitcode');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes.');
    const second = await lab.cli('sync', '--yes');
    expect(second.code).toBe(0);
    expect(lab.connector.restarts).toBe(1);
    expect(lab.cloudflare.tunnels).toHaveLength(1);
    noSecrets(dry.stdout, dry.stderr, applied.stdout, applied.stderr, again.stdout, second.stdout, second.stderr);
  });

  it('adding a service is three lines and plans only that route', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    await lab.write(
      BASE_INVENTORY.replace('        port: 8096\n', '        port: 8096\n      - hostname: requests.example.com\n        port: 5055\n'),
    );
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.stdout).toContain('# dns/requests.example.com will be created');
    expect(dry.stdout).toContain('+  - hostname: requests.example.com');
    expect(dry.stdout).toContain('# unit:cloudflared:cloudflared.service will be updated in place');
    expect(dry.stdout).toMatch(/Plan: 1 to add, 2 to change, 0 to destroy\./);
    expect(dry.stdout).not.toContain('lxc/cloudflared');
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    expect(lab.connector.restarts).toBe(2);
  });

  it('removing a service deletes only our record, before the config loses its rule', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    lab.cloudflare.addRecord('example.com', {
      name: 'www.example.com',
      type: 'A',
      content: '198.51.100.7',
      proxied: true,
      ttl: 1,
      comment: null,
    });
    await lab.write(BASE_INVENTORY.replace(/ {2}- name: nextcloud[\s\S]*$/, ''));
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.stdout).toContain('# dns/cloud.example.com will be destroyed');
    expect(dry.stdout).not.toContain('www.example.com');
    const before = lab.cloudflare.actions.length;
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const applyActions = lab.cloudflare.actions.slice(before).filter((a) => a.startsWith('apply'));
    expect(applyActions).toEqual(['applyDnsChanges example.com +0 ~0 -1']);
    const deployIndex = lab.connector.actions.findIndex((a, i) => i > 0 && a.startsWith('deploy') && a.includes('config.yml'));
    expect(deployIndex).toBeGreaterThan(-1);
    const names = lab.cloudflare.zones
      .get('example.com')!
      .records.map((r) => r.name)
      .sort();
    expect(names).toEqual(['media.example.com', 'www.example.com']);
  });

  it('recovers lost credentials from the tunnel token instead of creating a second tunnel', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    lab.connector.files.delete(CREDENTIALS);
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.stdout).toContain(
      '# file:cloudflared:/etc/cloudflared/credentials.json will be created (missing on the connector; recovered from the tunnel token)',
    );
    expect(dry.stdout).toContain('content: (sensitive)');
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    expect(lab.cloudflare.tunnels).toHaveLength(1);
    expect(lab.cloudflare.actions.some((a) => a.startsWith('recoverCredentials'))).toBe(true);
    expect(JSON.parse(lab.connector.files.get(CREDENTIALS)!.content).TunnelID).toBe(lab.cloudflare.tunnels[0]!.id);
  });

  it('shows a hand edit of config.yml being reverted, as a unified diff', async () => {
    const lab = await fakeHomelab();
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const file = lab.connector.files.get(CONFIG)!;
    file.content = file.content.replace('http://192.0.2.11:8096', 'http://192.0.2.99:8096');
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.stdout).toContain('-    service: http://192.0.2.99:8096');
    expect(dry.stdout).toContain('+    service: http://192.0.2.11:8096');
  });

  it('stops at the first failure with a report, and a re-run converges without duplicates', async () => {
    const lab = await fakeHomelab();
    lab.connector.failOnce('deploy', new Error('connection reset by peer'));
    const failed = await lab.cli('sync', '--yes');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('✓ applied  lxc/cloudflared (create)');
    expect(failed.stderr).toContain('✓ applied  tunnel/homelab (create)');
    expect(failed.stderr).toContain('✓ applied  package:cloudflared:cloudflared (create)');
    // The deploy is the unit's change; the files it would have put in place were not applied.
    expect(failed.stderr).toContain('✗ failed   unit:cloudflared:cloudflared.service (create): connection reset by peer');
    expect(failed.stderr).toContain('· pending  file:cloudflared:/etc/cloudflared/credentials.json (create)');
    expect(failed.stderr).toContain('· pending  file:cloudflared:/etc/cloudflared/config.yml (create)');
    expect(failed.stderr).toContain('· pending  dns/media.example.com (create)');
    expect(lab.cloudflare.zones.get('example.com')!.records).toHaveLength(0);

    const rerun = await lab.cli('sync', '--yes');
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(lab.cloudflare.tunnels).toHaveLength(1);
    expect(lab.proxmox.actions.filter((a) => a === 'createLxc')).toHaveLength(1);
    expect(lab.cloudflare.zones.get('example.com')!.records).toHaveLength(2);
    expect((await lab.cli('sync', '--dry-run', '--detailed-exitcode')).code).toBe(0);
  });

  it('--json carries the full desired text of managed files and no secret', async () => {
    const lab = await fakeHomelab();
    const out = await lab.cli('sync', '--dry-run', '--json');
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout) as { changes: { address: string; after?: { content?: string } }[]; summary: unknown };
    const config = plan.changes.find((c) => c.address === `file:cloudflared:${CONFIG}`)!;
    expect(config.after!.content).toContain('service: http_status:404');
    const unit = plan.changes.find((c) => c.address === 'file:cloudflared:/etc/systemd/system/cloudflared.service')!;
    expect(unit.after!.content).toContain('tunnel run');
    expect(plan.summary).toEqual({ add: 12, change: 0, destroy: 0 });
    noSecrets(out.stdout, out.stderr);
  });

  it('refuses to apply without --yes when not on a terminal, and changes nothing', async () => {
    const lab = await fakeHomelab();
    const out = await lab.cli('sync');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('Re-run with --yes');
    expect(lab.proxmox.connector).toBeUndefined();
    expect(lab.cloudflare.tunnels).toHaveLength(0);
  });

  it('on a terminal, asks before applying: "no" changes nothing, "yes" applies', async () => {
    const lab = await fakeHomelab();
    const declined = await lab.tty(false, 'sync', '--no-color');
    expect(declined.asked).toEqual(['Apply this plan?']);
    expect(declined.code).toBe(0);
    expect(declined.stderr).toContain('Apply cancelled; nothing was changed.');
    expect(lab.proxmox.connector).toBeUndefined();
    const accepted = await lab.tty(true, 'sync', '--no-color');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(lab.proxmox.connector?.status).toBe('running');
    // The spinner draws on stderr only; stdout keeps the plan and the result.
    expect(accepted.stdout).not.toContain('\r');
  });

  it('reports a foreign record on a wanted hostname as a conflict and does not apply', async () => {
    const lab = await fakeHomelab();
    lab.cloudflare.addRecord('example.com', {
      name: 'media.example.com',
      type: 'A',
      content: '198.51.100.9',
      proxied: false,
      ttl: 300,
      comment: 'mine',
    });
    const out = await lab.cli('sync', '--yes');
    expect(out.code).toBe(1);
    expect(out.stdout + out.stderr).toContain('--adopt');
    expect(lab.proxmox.connector).toBeUndefined();
    // Adopting containers only leaves the foreign record a conflict.
    const refused = await lab.cli('sync', '--yes', '--adopt=lxc');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('dns/media.example.com: A media.example.com → 198.51.100.9');
    expect(lab.proxmox.connector).toBeUndefined();
    const adopted = await lab.cli('sync', '--adopt', '--yes');
    expect(adopted.code, adopted.stderr).toBe(0);
    const record = lab.cloudflare.zones.get('example.com')!.records.find((r) => r.name === 'media.example.com')!;
    expect(record.content).toBe(`${lab.cloudflare.tunnels[0]!.id}.cfargotunnel.com`);
  });
});
