import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { DEMO_SERVICES, startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 17: `proxflare destroy` over real sockets (HTTPS Proxmox simulator, Cloudflare
 * simulator driven through the SDK, the SSH sandbox host). After a sync, destroy leaves
 * nothing with our marks and touches nothing else; interrupted after any step, a re-run
 * finishes.
 */

const ZONE = 'example.com';
const MARK = 'managed by proxflare: tunnel homelab';

let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

function ours(lab: SimulatedHomelab) {
  return {
    records: lab.cloudflare.state.records(ZONE).filter((r) => r.comment?.startsWith(MARK)),
    tunnels: [...lab.cloudflare.state.tunnels.values()].filter((t) => t.name === 'homelab' && t.deleted_at === null),
    lxcs: [...lab.proxmox.state.guests.values()].filter(
      (g) =>
        g.type === 'lxc' &&
        String(g.config['tags'] ?? '')
          .split(/[;,]/)
          .includes('proxflare'),
    ),
  };
}

function snapshotForeign(lab: SimulatedHomelab) {
  return lab.cloudflare.state
    .records(ZONE)
    .filter((r) => !r.comment?.startsWith(MARK))
    .map((r) => ({ ...r }));
}

const ACCESS = `access:
  policies:
    admins:
      emails: [me@example.com]
    robots:
      serviceTokens: [ci]
  serviceTokens:
    - { name: ci, secretFile: ./secrets/ci.json }
`;

/** Ours by name (and, for apps, tag) for tunnel homelab. */
function ourAccess(lab: SimulatedHomelab) {
  const a = lab.cloudflare.access;
  const mine = (name: string) => name.startsWith('proxflare:homelab:');
  return {
    apps: [...a.apps.values()].filter((x) => mine(x.name)),
    policies: [...a.policies.values()].filter((x) => mine(x.name)),
    tokens: [...a.serviceTokens.values()].filter((x) => mine(x.name)),
  };
}

/** An Access application someone made in the dashboard for a hostname the inventory publishes. */
function seedForeignApp(lab: SimulatedHomelab, domain: string, policyId: string) {
  const at = new Date().toISOString();
  const app = {
    id: randomUUID(),
    aud: randomBytes(32).toString('hex'),
    name: 'Media (dashboard)',
    type: 'self_hosted',
    domain,
    destinations: [{ type: 'public', uri: domain }],
    policyIds: [policyId],
    allowed_idps: [],
    tags: [],
    session_duration: '24h',
    app_launcher_visible: true,
    auto_redirect_to_identity: false,
    created_at: at,
    updated_at: at,
  };
  lab.cloudflare.access.apps.set(app.id, app);
  return app;
}

async function syncedLab(access = false): Promise<SimulatedHomelab> {
  const l = await startSimulatedHomelab({ taskDurationMs: 50 });
  if (access) {
    const services = DEMO_SERVICES.map((s) => (s.hostname === 'home.example.com' ? { ...s, access: '[admins, robots]' } : s));
    await writeFile(l.inventoryFile, l.inventoryYaml(services, ACCESS));
  }
  // A record someone made by hand that points at the tunnel is not ours either.
  const synced = await runCli(l, ['sync', '--yes']);
  expect(synced.code, synced.stdout + synced.stderr).toBe(0);
  const tunnel = ours(l).tunnels[0]!;
  l.cloudflare.state.seedRecord(ZONE, {
    name: 'handmade.example.com',
    type: 'CNAME',
    content: `${tunnel.id}.cfargotunnel.com`,
    proxied: true,
  });
  expect(ours(l).records.length).toBeGreaterThan(3);
  expect(ours(l).lxcs).toHaveLength(1);
  expect(tunnel.connectors.length).toBeGreaterThan(0);
  return l;
}

describe('proxflare destroy', () => {
  it(
    'after sync, leaves no record with our mark, no tunnel of that name, no tagged LXC; foreign records untouched; a second run has nothing to do',
    { timeout: 120_000 },
    async () => {
      lab = await syncedLab();
      const foreign = snapshotForeign(lab);
      const records = ours(lab).records.length;

      const dry = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode']);
      expect(dry.code, dry.stdout + dry.stderr).toBe(2);
      // The traffic-safe order, as shown.
      const order = [
        'dns/cloud.example.com',
        'unit:cloudflared:cloudflared.service',
        'tunnel/homelab/connections',
        'tunnel/homelab ',
        'file:cloudflared:/etc/cloudflared/config.yml',
        'lxc/cloudflared',
      ];
      const positions = order.map((a) => dry.stdout.indexOf(`# ${a}`));
      expect(
        positions.every((p) => p >= 0),
        dry.stdout,
      ).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(dry.stdout).toContain('= dns/handmade.example.com: points at the tunnel but has no proxflare comment');
      // Our records, the watchdog timer, cloudflared, its connections, the tunnel, three files + the watchdog's three, the LXC.
      expect(dry.stdout).toContain(`Plan: 0 to add, 0 to change, ${records + 11} to destroy.`);
      expect(ours(lab).records).toHaveLength(records);

      const json = await runCli(lab, ['destroy', '--dry-run', '--json']);
      const parsed = JSON.parse(json.stdout) as { changes: { address: string; action: string }[]; kept: { address: string }[] };
      expect(parsed.changes.every((c) => c.action === 'delete')).toBe(true);
      expect(parsed.kept.map((k) => k.address)).toContain('dns/handmade.example.com');

      const refused = await runCli(lab, ['destroy']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('refusing to destroy without confirmation: not a terminal');

      const destroyed = await runCli(lab, ['destroy', '--yes']);
      expect(destroyed.code, destroyed.stdout + destroyed.stderr).toBe(0);
      expect(destroyed.stdout).toContain('Re-read after destroy: nothing of tunnel homelab is left.');
      const left = ours(lab);
      expect(left.records).toEqual([]);
      expect(left.tunnels).toEqual([]);
      expect(left.lxcs).toEqual([]);
      expect(snapshotForeign(lab)).toEqual(foreign);
      // The files went before the container (the sandbox outlives the simulated LXC).
      expect(existsSync(join(lab.host.root, 'etc/cloudflared/config.yml'))).toBe(false);
      expect(existsSync(join(lab.host.root, 'etc/cloudflared/credentials.json'))).toBe(false);
      expect(existsSync(join(lab.host.root, 'etc/systemd/system/cloudflared.service'))).toBe(false);
      for (const f of [
        'usr/local/lib/proxflare/cloudflared-watchdog',
        'etc/systemd/system/proxflare-watchdog.service',
        'etc/systemd/system/proxflare-watchdog.timer',
      ])
        expect(existsSync(join(lab.host.root, f)), f).toBe(false);
      // The tunnel was deleted only after its connections were cleaned up (the real API answers 1022 otherwise).
      const calls = lab.cloudflare.requests.map((r) => `${r.method} ${r.operationId ?? r.path} ${r.status}`);
      const cleanup = calls.findIndex((c) => c.startsWith('DELETE cloudflare-tunnel-clean-up-cloudflare-tunnel-connections 200'));
      const del = calls.findIndex((c) => c.startsWith('DELETE cloudflare-tunnel-delete-a-cloudflare-tunnel 200'));
      expect(cleanup).toBeGreaterThan(-1);
      expect(del).toBeGreaterThan(cleanup);
      // LXC: stopped, then destroyed with purge.
      const pve = lab.proxmox.requests;
      const stop = pve.findIndex((r) => r.method === 'POST' && /\/lxc\/\d+\/status\/stop/.test(r.path));
      const destroy = pve.findIndex((r) => r.method === 'DELETE' && /\/lxc\/\d+/.test(r.path));
      expect(stop).toBeGreaterThan(-1);
      expect(destroy).toBeGreaterThan(stop);
      expect(String(pve[destroy]!.params?.['purge'])).toBe('1');

      const again = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toContain("Nothing to destroy: nothing carries proxflare's marks for tunnel homelab.");
      const yesAgain = await runCli(lab, ['destroy', '--yes']);
      expect(yesAgain.code).toBe(0);
      expect(yesAgain.stdout).toContain('Nothing to destroy');
    },
  );

  it(
    'deletes our Access applications, policies and service tokens after the DNS records and before cloudflared stops; foreign Access is kept',
    { timeout: 120_000 },
    async () => {
      lab = await syncedLab(true);
      const family = lab.cloudflare.access.seedPolicy('Family', [{ email_domain: { domain: 'family.example' } }]);
      const foreignApp = seedForeignApp(lab, 'media.example.com', family.id);
      const mine = ourAccess(lab);
      expect([mine.apps.length, mine.policies.length, mine.tokens.length]).toEqual([1, 2, 1]);

      const dry = await runCli(lab, ['destroy', '--dry-run']);
      expect(dry.code, dry.stdout + dry.stderr).toBe(0);
      const order = [
        'dns/vault.example.com',
        'access-app/home.example.com',
        'access-policy/admins',
        'access-policy/robots',
        'service-token/ci',
        'unit:cloudflared:cloudflared.service',
      ];
      const positions = order.map((a) => dry.stdout.indexOf(`# ${a} will be destroyed`));
      expect(
        positions.every((p) => p >= 0),
        dry.stdout,
      ).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      expect(dry.stdout).toContain(
        `= access-app/media.example.com: Access application "Media (dashboard)" (id ${foreignApp.id}) is not proxflare's: left in place`,
      );

      const destroyed = await runCli(lab, ['destroy', '--yes']);
      expect(destroyed.code, destroyed.stdout + destroyed.stderr).toBe(0);
      expect(destroyed.stdout).toContain('Re-read after destroy: nothing of tunnel homelab is left.');
      expect(ourAccess(lab)).toEqual({ apps: [], policies: [], tokens: [] });
      expect(lab.cloudflare.access.apps.get(foreignApp.id)).toEqual(foreignApp);
      expect(lab.cloudflare.access.policies.get(family.id)).toEqual(family);
      // The Access deletes ran after the last DNS delete and before cloudflared's connections were cleaned up.
      const calls = lab.cloudflare.requests.map((r) => `${r.method} ${r.path}`);
      const lastDns = calls.findLastIndex((c) => /^(DELETE .*\/dns_records\/|POST .*\/dns_records\/batch)/.test(c));
      const firstAccess = calls.findIndex((c) => /^DELETE .*\/access\//.test(c));
      const lastAccess = calls.findLastIndex((c) => /^DELETE .*\/access\//.test(c));
      const cleanup = calls.findIndex((c) => /^DELETE .*\/connections$/.test(c));
      expect(lastDns).toBeGreaterThan(-1);
      expect(firstAccess).toBeGreaterThan(lastDns);
      expect(cleanup).toBeGreaterThan(lastAccess);
      const again = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode']);
      expect(again.code, again.stdout).toBe(0);
    },
  );

  it('--keep-connector removes what cloudflared serves and leaves the LXC', { timeout: 120_000 }, async () => {
    lab = await syncedLab();
    const destroyed = await runCli(lab, ['destroy', '--yes', '--keep-connector']);
    expect(destroyed.code, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain('= lxc/cloudflared: CT');
    const left = ours(lab);
    expect(left.records).toEqual([]);
    expect(left.tunnels).toEqual([]);
    expect(left.lxcs).toHaveLength(1);
    expect(existsSync(join(lab.host.root, 'etc/cloudflared/config.yml'))).toBe(false);
    const again = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode', '--keep-connector']);
    expect(again.code, again.stdout).toBe(0);
  });

  it('refuses to delete more records than settings.maxDeletes without --allow-mass-delete', { timeout: 120_000 }, async () => {
    lab = await syncedLab();
    const { readFile, writeFile } = await import('node:fs/promises');
    await writeFile(lab.inventoryFile, (await readFile(lab.inventoryFile, 'utf8')).replace('settings:\n', 'settings:\n  maxDeletes: 2\n'));
    const records = ours(lab).records.length;
    const refused = await runCli(lab, ['destroy', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`destroy would delete ${records} DNS records, more than settings.maxDeletes (2)`);
    expect(ours(lab).records).toHaveLength(records);
    const allowed = await runCli(lab, ['destroy', '--yes', '--allow-mass-delete']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(ours(lab).records).toEqual([]);
  });

  it(
    'a tunnel another cloudflared still runs (1022 after cleanup) stops destroy with a message, and nothing half-said',
    { timeout: 120_000 },
    async () => {
      lab = await syncedLab();
      const tunnel = ours(lab).tunnels[0]!;
      // A second connector somewhere else joins the tunnel: its connections come back after every cleanup.
      const replica = await startReplica(lab, tunnel.id);
      const failed = await runCli(lab, ['destroy', '--yes']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('✗ failed   tunnel/homelab (delete)');
      expect(failed.stderr).toContain('a cloudflared proxflare did not stop is running this tunnel');
      expect(failed.stderr).toContain('re-run `proxflare destroy`');
      expect(ours(lab).records).toEqual([]);
      expect(ours(lab).tunnels).toHaveLength(1);
      replica.stop();
      const rerun = await runCli(lab, ['destroy', '--yes']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(ours(lab).tunnels).toEqual([]);
      expect(ours(lab).lxcs).toEqual([]);
    },
  );
});

/** A cloudflared outside the homelab running the same tunnel (the simulator's edge keeps it connected). */
async function startReplica(lab: SimulatedHomelab, tunnelId: string): Promise<{ stop(): void }> {
  const client = lab.cloudflare.state.connectReplica(tunnelId, 2);
  return { stop: () => lab.cloudflare.state.connectorStopped(tunnelId, client) };
}

describe('proxflare destroy, interrupted after each step, then re-run', () => {
  interface Interruption {
    after: string;
    /** The lab publishes a hostname behind Access (policies, a service token). */
    access?: boolean;
    arm(lab: SimulatedHomelab): void;
    wrap?: (ports: Ports) => Ports;
  }
  const failHost =
    (method: 'stopService' | 'removeFiles') =>
    (ports: Ports): Ports => ({
      ...ports,
      connect: async (target) => {
        const host = await ports.connect(target);
        host[method] = async () => {
          throw new Error(`connection lost during ${method}`);
        };
        return host;
      },
    });
  const cases: Interruption[] = [
    { after: 'the DNS deletes', arm: () => undefined, wrap: failHost('stopService') },
    {
      after: 'the DNS deletes (Access next)',
      access: true,
      arm: (l) => l.cloudflare.faults.serverError(10, { method: 'DELETE', path: /access\/apps\// }),
    },
    {
      after: 'deleting the Access application',
      access: true,
      arm: (l) => l.cloudflare.faults.serverError(10, { method: 'DELETE', path: /access\/policies\// }),
    },
    {
      after: 'deleting the Access policies',
      access: true,
      arm: (l) => l.cloudflare.faults.serverError(10, { method: 'DELETE', path: /access\/service_tokens\// }),
    },
    { after: 'deleting the service token', access: true, arm: () => undefined, wrap: failHost('stopService') },
    { after: 'stopping cloudflared', arm: (l) => l.cloudflare.faults.serverError(10, { method: 'DELETE', path: /connections$/ }) },
    {
      after: 'cleaning up connections',
      arm: (l) => l.cloudflare.faults.serverError(10, { method: 'DELETE', path: /cfd_tunnel\/[0-9a-f-]+$/ }),
    },
    { after: 'deleting the tunnel', arm: () => undefined, wrap: failHost('removeFiles') },
    { after: 'removing the files', arm: (l) => l.proxmox.faults.failNextTask('vzstop', 'command timed out') },
    { after: 'stopping the LXC', arm: (l) => l.proxmox.faults.failNextTask('vzdestroy', 'unable to remove volume') },
  ];
  for (const c of cases) {
    it(`after ${c.after}: the re-run finishes without error`, { timeout: 120_000 }, async () => {
      lab = await syncedLab(c.access);
      const foreign = snapshotForeign(lab);
      c.arm(lab);
      const interrupted = await runCli(lab, ['destroy', '--yes'], c.wrap);
      expect(interrupted.code, interrupted.stdout + interrupted.stderr).toBe(1);
      expect(interrupted.stderr).toContain('✗ failed');
      expect(interrupted.stderr).toContain('re-run `proxflare destroy`');
      lab.cloudflare.faults.clear();
      lab.proxmox.faults.clear();

      const rerun = await runCli(lab, ['destroy', '--yes']);
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
      expect(rerun.stderr).not.toContain('Error');
      const left = ours(lab);
      expect(left.records).toEqual([]);
      expect(left.tunnels).toEqual([]);
      expect(left.lxcs).toEqual([]);
      expect(ourAccess(lab)).toEqual({ apps: [], policies: [], tokens: [] });
      expect(snapshotForeign(lab)).toEqual(foreign);
      const check = await runCli(lab, ['destroy', '--dry-run', '--detailed-exitcode']);
      expect(check.code, check.stdout).toBe(0);
    });
  }
});
