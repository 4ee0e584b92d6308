/**
 * The plan as a user reads it, written from what they should see: one block per change, only
 * real differences, the summary. Cases run the CLI's dry run over the in-memory fakes.
 */
import { describe, expect, it } from 'vitest';
import { BASE_INVENTORY, fakeHomelab, type FakeHomelab } from '../../support/fake-homelab.js';

async function synced(): Promise<FakeHomelab> {
  const lab = await fakeHomelab();
  const run = await lab.cli('sync', '--yes');
  expect(run.code, run.stderr).toBe(0);
  return lab;
}

async function dryRun(lab: FakeHomelab, inventory: string): Promise<string> {
  await lab.write(inventory);
  const run = await lab.cli('sync', '--dry-run', '--no-color');
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

/** The text between "will perform the following actions:" and the routes. */
function actions(stdout: string): string {
  const start = stdout.indexOf('proxflare will perform the following actions:\n\n');
  const end = stdout.indexOf('Routes (ingress order):');
  expect(start, stdout).toBeGreaterThan(-1);
  return stdout.slice(start + 'proxflare will perform the following actions:\n\n'.length, end);
}

describe('plan text', () => {
  it('a memory change on the connector: one in-place update with only that line', async () => {
    const lab = await synced();
    const out = await dryRun(lab, BASE_INVENTORY.replace('  storage: local-lvm\n', '  storage: local-lvm\n  memory: 1024\n'));
    expect(actions(out)).toBe(
      ['  # lxc/cloudflared will be updated in place (memory 512 → 1024)', '  ~ lxc/cloudflared', '      memory: 512 → 1024', '', ''].join(
        '\n',
      ),
    );
    expect(out).toMatch(/Plan: 0 to add, 1 to change, 0 to destroy\.\n$/);
  });

  it('a bridge change: net0 as it will be written (the MAC and type kept), applied live to the running container', async () => {
    const lab = await synced();
    lab.proxmox.connector!.config.net0 = 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth';
    const out = await dryRun(
      lab,
      BASE_INVENTORY.replace('  storage: local-lvm\n', '  storage: local-lvm\n  network:\n    bridge: vmbr1\n'),
    );
    expect(actions(out)).toBe(
      [
        '  # lxc/cloudflared will be updated in place (net0.bridge vmbr0 → vmbr1)',
        '  ~ lxc/cloudflared',
        '      net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth → name=eth0,bridge=vmbr1,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth',
        '      applied live to the running container: net0 (its address is re-read and SSH reconnects)',
        '',
        '',
      ].join('\n'),
    );
  });

  it('a removed service: its record destroyed, its rule removed from config.yml, cloudflared restarted', async () => {
    const lab = await synced();
    const out = await dryRun(lab, BASE_INVENTORY.replace(/ {2}- name: nextcloud[\s\S]*$/, ''));
    const tunnelId = lab.cloudflare.tunnels[0]!.id;
    expect(actions(out)).toBe(
      [
        '  # dns/cloud.example.com will be destroyed (not in inventory)',
        '  - dns/cloud.example.com',
        `      CNAME ${tunnelId}.cfargotunnel.com (proxied)`,
        '      zone: example.com',
        '',
        '  # file:cloudflared:/etc/cloudflared/config.yml will be updated in place (content differs from the inventory)',
        '  ~ file:cloudflared:/etc/cloudflared/config.yml',
        '      --- /etc/cloudflared/config.yml (current)',
        '      +++ /etc/cloudflared/config.yml (desired)',
        '      @@ -3,10 +3,6 @@',
        '       credentials-file: /etc/cloudflared/credentials.json',
        '       metrics: 127.0.0.1:20241',
        '       ingress:',
        '      -  - hostname: cloud.example.com',
        '      -    service: https://192.0.2.20:443',
        '      -    originRequest:',
        '      -      noTLSVerify: true',
        '         - hostname: media.example.com',
        '           service: http://192.0.2.11:8096',
        '         - service: http_status:404',
        '',
        '  # unit:cloudflared:cloudflared.service will be updated in place (restart: file:cloudflared:/etc/cloudflared/config.yml changed)',
        '  ~ unit:cloudflared:cloudflared.service',
        '      restart: yes',
        '',
        '',
      ].join('\n'),
    );
    expect(out).toMatch(/Plan: 0 to add, 2 to change, 1 to destroy\.\n$/);
  });

  it('nothing to do: no action blocks, the routes, and one line saying so', async () => {
    const lab = await synced();
    const out = await dryRun(lab, BASE_INVENTORY);
    expect(out).not.toContain('will perform');
    expect(out).toBe(
      [
        'Routes (ingress order):',
        '  cloud.example.com → https://192.0.2.20:443  (nextcloud, address from inventory)',
        '  media.example.com → http://192.0.2.11:8096  (jellyfin, address from interfaces)',
        '',
        'Exposure:',
        '  cloud.example.com PUBLIC',
        '  media.example.com PUBLIC',
        '  (the inventory has no access: section, so Cloudflare Access was not read: apps made in the dashboard are not shown)',
        '',
        'No changes. The homelab matches the inventory.',
        '',
      ].join('\n'),
    );
  });
});
