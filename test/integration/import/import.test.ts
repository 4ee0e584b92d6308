import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { tunnelStatus } from '../../../src/sim/cloudflare/sim-state.js';
import { runCli } from '../../support/homelab-cli.js';
import { withHealthTimeout } from '../../support/replicas.js';

/**
 * Issue 17, import: a homelab that already has a tunnel (a community-scripts LXC running a
 * token-installed cloudflared for a remotely-managed tunnel, routes made in the dashboard),
 * read over real sockets and written as an inventory whose plan changes no route.
 */

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

interface PlanJson {
  changes: { address: string; action: string }[];
  conflicts: { address: string; message: string }[];
  warnings: string[];
  routes: { hostname: string; service: string; guest?: string }[];
}

describe('proxflare import', () => {
  it(
    'writes an inventory of the existing setup whose dry run changes no route and lists what would be adopted',
    { timeout: 120_000 },
    async () => {
      lab = await startSimulatedHomelab({ preExisting: true, taskDurationMs: 50, serveOrigins: true });
      const tunnel = [...lab.cloudflare.state.tunnels.values()].find((t) => t.name === 'homelab')!;
      expect(tunnel.configSrc).toBe('cloudflare');
      const ingress = (tunnel.config!.config as { ingress: { hostname?: string; service: string }[] }).ingress.filter((r) => r.hostname);

      const out = join(lab.dir, 'imported.yaml');
      const imported = await runCli(lab, ['import', '--tunnel', 'homelab', '--connector', '127.0.0.1', '-o', out]);
      expect(imported.code, imported.stdout + imported.stderr).toBe(0);
      expect(imported.stdout).toContain(`${ingress.length} routes from cloudflare`);
      const text = await readFile(out, 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./inventory.schema.json');
      expect(text).toContain('tokenSecret: ${PVE_TOKEN_SECRET}');
      expect(text).toContain('apiToken: ${CLOUDFLARE_API_TOKEN}');
      expect(text).toContain('token file /etc/cloudflared/token (cloudflared service install)');
      expect(text).toContain('cloudflared-update.timer present');
      for (const secret of [lab.env.PVE_TOKEN_SECRET!, lab.env.CLOUDFLARE_API_TOKEN!, tunnel.secret])
        expect(text + imported.stdout + imported.stderr).not.toContain(secret);

      // The token-run connector serves what Cloudflare pushes to it: every route answers through the edge today.
      const served = await runCli(lab, ['-i', out, 'status', '--public', '--json']);
      const publicChecks = (JSON.parse(served.stdout) as { public: { hostname: string; status: number; ok: boolean }[] }).public;
      expect(publicChecks.map((c) => [c.hostname, c.status, c.ok]).sort()).toEqual(ingress.map((r) => [r.hostname, 200, true]).sort());

      // Each origin went under the Proxmox guest whose discovered address it is.
      const inventory = await loadInventory(out, { env: lab.env });
      expect(inventory.guests.map((g) => g.name).sort()).toEqual(['homeassistant', 'jellyfin', 'nextcloud', 'vaultwarden']);
      expect(inventory.connector.hostname).toBe('cloudflared');
      expect(inventory.connector.vmid).toBe(110);
      // Import changes nothing.
      const again = await runCli(lab, ['import', '--tunnel', 'homelab', '--connector', '127.0.0.1', '-o', out]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('import never overwrites a file');

      const dry = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--json']);
      const plan = JSON.parse(dry.stdout) as PlanJson;
      // No route changes: the plan serves exactly what the tunnel serves today.
      expect(plan.routes.map((r) => [r.hostname, r.service]).sort()).toEqual(ingress.map((r) => [r.hostname, r.service]).sort());
      // What would be adopted is listed, and nothing is taken without being asked: the records
      // pointing at the tunnel without our comment, and the LXC without our tag.
      for (const r of ingress) expect(plan.warnings.some((w) => w.startsWith(`dns/${r.hostname}:`) && w.includes('--adopt'))).toBe(true);
      // …and the remotely-managed tunnel, whose configuration on Cloudflare wins over any config.yml.
      expect(plan.conflicts.map((c) => c.address)).toEqual(['lxc/cloudflared', 'tunnel/homelab/configuration']);
      expect(dry.code).toBe(1);
      expect(lab.cloudflare.state.records('example.com').filter((r) => r.comment?.startsWith('managed by proxflare'))).toEqual([]);

      // --adopt: the plan says what it takes over, with the routes still unchanged.
      const adoptPlan = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--adopt', '--json']);
      expect(adoptPlan.code, adoptPlan.stderr).toBe(0);
      const ap = JSON.parse(adoptPlan.stdout) as Omit<PlanJson, 'changes'> & {
        changes: { address: string; action: string; reason: string }[];
      };
      expect(ap.conflicts).toEqual([]);
      expect(ap.routes.map((r) => [r.hostname, r.service]).sort()).toEqual(ingress.map((r) => [r.hostname, r.service]).sort());
      const lxcChange = ap.changes.find((c) => c.address === 'lxc/cloudflared')!;
      expect([lxcChange.action, lxcChange.reason]).toEqual(['update', 'adopt: tag "proxflare" added to CT 110 (--adopt)']);
      for (const r of ingress) expect(ap.changes.find((c) => c.address === `dns/${r.hostname}`)?.action).toBe('update');
      // The tunnel stays remotely managed (config_src cannot be changed by the API): adopting it means
      // proxflare keeps Cloudflare's configuration equal to config.yml, which changes no route today.
      const configChange = ap.changes.find((c) => c.address === 'tunnel/homelab/configuration')!;
      expect(configChange.action).toBe('update');
      expect(configChange.reason).toMatch(
        /^adopt \(--adopt\): remotely managed, and the API cannot make it locally managed.*\(the ingress is unchanged\)$/,
      );
      expect(ap.changes.find((c) => c.address === 'unit:cloudflared:cloudflared.service')?.action).toBe('update');
      // The token-run setup `cloudflared service install` left goes after the new unit runs, and only those paths.
      const leftover = ap.changes.find((c) => c.address === 'leftover:cloudflared:cloudflared-service-install') as
        { action: string; paths: string[]; units: string[] } | undefined;
      expect(leftover).toMatchObject({
        action: 'delete',
        before: {
          paths: [
            '/etc/cloudflared/token',
            '/etc/systemd/system/cloudflared-update.service',
            '/etc/systemd/system/cloudflared-update.timer',
          ],
        },
      });
      const at = (address: string) => ap.changes.findIndex((c) => c.address === address);
      expect(at('leftover:cloudflared:cloudflared-service-install')).toBeGreaterThan(at('unit:cloudflared:cloudflared.service'));

      const adopted = await runCli(lab, ['-i', out, 'sync', '--yes', '--adopt']);
      expect(adopted.code, adopted.stdout + adopted.stderr).toBe(0);
      expect(adopted.stdout).toContain('Re-read after apply: no changes left.');
      const after = await runCli(lab, ['-i', out, 'sync', '--dry-run', '--detailed-exitcode']);
      expect(after.code, after.stdout + after.stderr).toBe(0);
      expect(after.stdout).toContain('No changes.');

      // Same tunnel (id kept), same container (tagged now, no second one), records marked as ours.
      const live = [...lab.cloudflare.state.tunnels.values()].filter((t) => t.deleted_at === null);
      expect(live.map((t) => t.id)).toEqual([tunnel.id]);
      const lxcs = [...lab.proxmox.state.guests.values()].filter((g) => g.type === 'lxc' && g.config['hostname'] === 'cloudflared');
      expect(lxcs.map((g) => [g.vmid, String(g.config['tags'])])).toEqual([[110, 'cloudflare;network;proxflare']]);
      expect(
        lab.cloudflare.state
          .records('example.com')
          .filter((r) => r.comment === 'managed by proxflare: tunnel homelab')
          .map((r) => r.name)
          .sort(),
      ).toEqual(ingress.map((r) => r.hostname).sort());
      // The connector now runs from credentials + config.yml serving the same routes.
      const config = await readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8');
      for (const r of ingress) expect(config).toContain(`service: ${r.service}`);
      expect(config).toContain(`tunnel: ${tunnel.id}`);
      // The token-run setup is gone; the credentials-file unit runs; nothing else in /etc/cloudflared was touched.
      for (const p of [
        'etc/cloudflared/token',
        'etc/systemd/system/cloudflared-update.timer',
        'etc/systemd/system/cloudflared-update.service',
      ])
        expect(existsSync(join(lab.host.root, p)), p).toBe(false);
      const unit = await readFile(join(lab.host.root, 'etc/systemd/system/cloudflared.service'), 'utf8');
      expect(unit).not.toContain('--token');
      expect(unit).toContain('/etc/cloudflared/config.yml');
      expect(existsSync(join(lab.host.root, 'etc/cloudflared/credentials.json'))).toBe(true);
      expect(tunnelStatus(lab.cloudflare.state.tunnels.get(tunnel.id)!)).toBe('healthy');

      // Remotely managed still; Cloudflare's configuration is the rendered ingress, routes unchanged.
      const simTunnel = lab.cloudflare.state.tunnels.get(tunnel.id)!;
      expect(simTunnel.configSrc).toBe('cloudflare');
      const remoteRoutes = () =>
        (simTunnel.config!.config as { ingress: { hostname?: string; service: string }[] }).ingress.map((r) => [
          r.hostname ?? '*',
          r.service,
        ]);
      expect(remoteRoutes().slice(0, -1).sort()).toEqual(ingress.map((r) => [r.hostname!, r.service]).sort());
      expect(remoteRoutes().at(-1)).toEqual(['*', 'http_status:404']);

      // A route change in the inventory reaches Cloudflare's configuration too (the edge pushes it over config.yml).
      const moved = ingress[0]!;
      const newService = moved.service.replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1}`);
      const before = await readFile(out, 'utf8');
      const at2 = before.indexOf(`hostname: ${moved.hostname!}\n`);
      const portLine = /port: (\d+)/.exec(before.slice(at2))!;
      const text2 = before.slice(0, at2) + before.slice(at2).replace(portLine[0], `port: ${new URL(newService).port}`);
      expect(text2).not.toBe(before);
      await writeFile(out, text2);
      const changedPlan = JSON.parse((await runCli(lab, ['-i', out, 'sync', '--dry-run', '--json'])).stdout) as {
        changes: { address: string; action: string }[];
      };
      expect(changedPlan.changes.find((c) => c.address === 'tunnel/homelab/configuration')?.action).toBe('update');
      const resynced = await runCli(lab, ['-i', out, 'sync', '--yes']);
      expect(resynced.code, resynced.stdout + resynced.stderr).toBe(0);
      expect(remoteRoutes()).toContainEqual([moved.hostname!, newService]);
      expect((await runCli(lab, ['-i', out, 'sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
      expect(adopted.stderr + adopted.stdout).not.toContain(lab.cloudflare.state.tunnels.get(tunnel.id)!.secret);

      // The route moved back while cloudflared cannot reach the edge: the replica fails its gate and is
      // rolled back, and the error says what it serves meanwhile (Cloudflare's configuration, already replaced).
      await mkdir(join(lab.host.root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(lab.host.root, 'var/lib/proxflare-standin/cloudflared-no-edge'), '');
      await writeFile(out, withHealthTimeout(before, 2));
      const failed = await runCli(lab, ['-i', out, 'sync', '--yes']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/replica cloudflared did not come back healthy and was rolled back/);
      expect(failed.stderr).toContain('The tunnel is remotely managed and Cloudflare already holds the new configuration');
      expect(remoteRoutes()).toContainEqual([moved.hostname!, moved.service]);
    },
  );
});

describe('proxflare demo --import', () => {
  it('runs import → sync --dry-run → sync --adopt → "No changes" and cleans up', { timeout: 120_000 }, async () => {
    const { main } = await import('../../../src/cli/main.js');
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'proxflare', '--no-color', 'demo', '--import'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: {},
      cwd: process.cwd(),
      isTTY: false,
      confirm: async () => false,
      createPorts: () => {
        throw new Error('the demo builds its own ports');
      },
    });
    expect(code, stdout + stderr).toBe(0);
    expect(stdout).toContain('4 routes from cloudflare');
    expect(stdout).toContain('adopt: tag "proxflare" added to CT 110');
    expect(stdout).toContain('Re-read after apply: no changes left.');
    expect(stdout).toContain('No changes. The homelab matches the inventory.');
  });
});
