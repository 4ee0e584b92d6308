import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import type { DemoService, SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { DEMO_SERVICES, startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { ALL_PERMISSIONS, PERMISSIONS } from '../../../src/sim/cloudflare/sim-state.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Cloudflare Access end to end over real sockets: the CLI with the real SDK adapters against
 * the Cloudflare simulator (Access routes with server defaults, schema-checked both ways),
 * the Proxmox simulator and the SSH sandbox playing the connector.
 */

const ACCESS = `access:
  policies:
    admins:
      emails: [me@example.com]
    family:
      existing: "Family"
`;

const PVE: DemoService = { guest: 'homeassistant', hostname: 'home.example.com', port: 8123 };
const withAccess = (policy: string | undefined): DemoService[] =>
  DEMO_SERVICES.map((s) => (s.hostname === PVE.hostname && policy ? { ...s, access: policy } : s));

let lab: SimulatedHomelab;
beforeEach(async () => {
  lab = await startSimulatedHomelab({ taskDurationMs: 50 });
  lab.cloudflare.access.seedPolicy('Family', [{ email_domain: { domain: 'family.example' } }]);
});
afterEach(async () => {
  expect(lab.cloudflare.validationFailures).toEqual([]);
  await lab.close();
});

async function setInventory(services: DemoService[], extra = ACCESS): Promise<void> {
  await writeFile(lab.inventoryFile, lab.inventoryYaml(services, extra));
}

const configOnConnector = () => readFile(join(lab.host.root, 'etc/cloudflared/config.yml'), 'utf8');

describe('Cloudflare Access per hostname', () => {
  it(
    'adding access: admins plans policy, app, config check, restart, no DNS change; applies in order; a second plan is empty',
    { timeout: 120_000 },
    async () => {
      await setInventory(withAccess(undefined));
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const recordsBefore = lab.cloudflare.state
        .records('example.com')
        .map((r) => `${r.name} ${r.content}`)
        .sort();

      await setInventory(withAccess('admins'));
      const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(plan.code, plan.stderr).toBe(2);
      const out = plan.stdout;
      expect(out).toContain('# access-policy/admins will be created');
      expect(out).toContain('# access-app/home.example.com will be created');
      expect(out).toMatch(
        /\+ {4}originRequest:\n\s+\+ {6}access:\n\s+\+ {8}audTag:\n\s+\+ {10}- \(aud known after apply\)\n\s+\+ {8}required: true\n\s+\+ {8}teamName: homelab\n/,
      );
      expect(out).toMatch(/restart: yes/);
      expect(out).not.toMatch(/# dns\//);
      expect(out).toContain('Exposure:\n');
      expect(out).toContain('home.example.com PUBLIC → PROTECTED (admins)  (becomes PROTECTED)');
      expect(out).toContain('media.example.com PUBLIC\n');
      // Order: policy → app → config → restart.
      const order = [
        'access-policy/admins',
        'access-app/home.example.com',
        'file:cloudflared:/etc/cloudflared/config.yml',
        'unit:cloudflared:cloudflared.service',
      ].map((a) => out.indexOf(`# ${a}`));
      expect(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!))).toBe(true);

      const json = await runCli(lab, ['sync', '--dry-run', '--json']);
      const parsed = JSON.parse(json.stdout) as {
        exposure: { hostname: string; before: unknown; after: unknown; change: string | null }[];
      };
      expect(parsed.exposure.find((e) => e.hostname === 'home.example.com')).toEqual({
        hostname: 'home.example.com',
        before: { kind: 'PUBLIC' },
        after: { kind: 'PROTECTED', policies: ['admins'] },
        change: 'becomes PROTECTED',
      });

      const requestsBefore = lab.cloudflare.requests.length;
      const applied = await runCli(lab, ['sync', '--yes']);
      expect(applied.code, applied.stderr).toBe(0);
      const writes = lab.cloudflare.requests
        .slice(requestsBefore)
        .filter((r) => r.method !== 'GET')
        .map((r) => `${r.method} ${r.path.replace(/\/[0-9a-f-]{32,36}(?=\/|$)/g, '/{id}')}`);
      expect(writes).toEqual([`POST /accounts/{id}/access/policies`, `POST /accounts/{id}/access/tags`, `POST /accounts/{id}/access/apps`]);
      const app = lab.cloudflare.access.appByDomain('home.example.com')!;
      expect(app.name).toBe('proxflare:homelab:home.example.com');
      expect(app.tags).toEqual(['proxflare']);
      const config = await configOnConnector();
      expect(config).toContain(`audTag:\n          - ${app.aud}`);
      expect(
        lab.cloudflare.state
          .records('example.com')
          .map((r) => `${r.name} ${r.content}`)
          .sort(),
      ).toEqual(recordsBefore);

      // Server-filled defaults (session_duration 24h, allowed_idps [], reversed set order, destinations from domain) make no diff.
      const again = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(again.code, again.stdout).toBe(0);
      expect(again.stdout).toContain('home.example.com PROTECTED (admins)\n');
      const status = await runCli(lab, ['status']);
      expect(status.stdout).toMatch(/home\.example\.com\s.*PROTECTED \(admins\)/);
      expect(status.stdout).toMatch(/media\.example\.com\s.*PUBLIC/);
    },
  );

  it('a new protected hostname: app before config, DNS record last', { timeout: 120_000 }, async () => {
    await setInventory(withAccess(undefined));
    expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
    const added: DemoService = { guest: 'jellyfin', hostname: 'pve.example.com', port: 8096, access: 'family' };
    await setInventory([...withAccess(undefined), added]);
    const plan = await runCli(lab, ['sync', '--dry-run']);
    expect(plan.stdout).toContain('pve.example.com (new) → PROTECTED (family)');
    const i = (a: string) => plan.stdout.indexOf(`# ${a}`);
    expect(i('access-app/pve.example.com')).toBeGreaterThanOrEqual(0);
    expect(i('access-app/pve.example.com')).toBeLessThan(i('file:cloudflared:/etc/cloudflared/config.yml'));
    expect(i('file:cloudflared:/etc/cloudflared/config.yml')).toBeLessThan(i('dns/pve.example.com'));
    expect(plan.stdout).not.toContain('access-policy/family');
    const applied = await runCli(lab, ['sync', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    const app = lab.cloudflare.access.appByDomain('pve.example.com')!;
    const family = [...lab.cloudflare.access.policies.values()].find((p) => p.name === 'Family')!;
    expect(app.policyIds).toEqual([family.id]);
    // The foreign policy was read, never written.
    expect(lab.cloudflare.requests.filter((r) => r.path.includes(`/access/policies/${family.id}`) && r.method !== 'GET')).toEqual([]);
  });

  it(
    'an app deleted out of band: the connector fails closed in between, the next plan recreates it with a new aud',
    { timeout: 120_000 },
    async () => {
      await setInventory(withAccess('admins'));
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const old = lab.cloudflare.access.appByDomain('home.example.com')!;
      lab.cloudflare.access.apps.delete(old.id);
      // Until the next sync the connector still requires a JWT for the old aud: nothing the edge could send now matches.
      expect(await configOnConnector()).toContain(old.aud);

      const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(plan.code).toBe(2);
      expect(plan.stdout).toContain('# access-app/home.example.com will be created');
      expect(plan.stdout).toContain(`-          - ${old.aud}`);
      expect(plan.stdout).toContain('+          - (aud known after apply)');
      expect(plan.stdout).toContain('home.example.com PUBLIC → PROTECTED (admins)');
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const fresh = lab.cloudflare.access.appByDomain('home.example.com')!;
      expect(fresh.aud).not.toBe(old.aud);
      const config = await configOnConnector();
      expect(config).toContain(fresh.aud);
      expect(config).not.toContain(old.aud);
      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
    },
  );

  it('a typo in an existing: policy name changes nothing and exits 1 naming the line', { timeout: 120_000 }, async () => {
    await setInventory(withAccess('admins'));
    expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
    const before = {
      apps: JSON.stringify([...lab.cloudflare.access.apps.values()]),
      config: await configOnConnector(),
      dns: JSON.stringify(lab.cloudflare.state.records('example.com')),
    };

    const typo = ACCESS.replace('"Family"', '"Famly"');
    await setInventory([...withAccess('admins'), { guest: 'jellyfin', hostname: 'pve.example.com', port: 8096, access: 'family' }], typo);
    const requests = lab.cloudflare.requests.length;
    const run = await runCli(lab, ['sync', '--yes']);
    expect(run.code).toBe(1);
    const line = typo.split('\n').findIndex((l) => l.includes('Famly'));
    const yaml = await readFile(lab.inventoryFile, 'utf8');
    const lineNo = yaml.split('\n').findIndex((l) => l.includes('existing: "Famly"')) + 1;
    expect(line).toBeGreaterThan(0);
    expect(run.stderr).toContain(`inventory.yaml:${lineNo}:`);
    expect(run.stderr).toContain(
      'access.policies.family.existing: no reusable Access policy is named "Famly" (did you mean "Family"? names are exact)',
    );
    expect(lab.cloudflare.requests.slice(requests).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(JSON.stringify([...lab.cloudflare.access.apps.values()])).toBe(before.apps);
    expect(await configOnConnector()).toBe(before.config);
    expect(JSON.stringify(lab.cloudflare.state.records('example.com'))).toBe(before.dns);
  });

  it(
    'un-protecting renders the config without the check first, then deletes the app; the plan says it becomes PUBLIC',
    { timeout: 120_000 },
    async () => {
      await setInventory(withAccess('admins'));
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      await setInventory(withAccess(undefined));
      const plan = await runCli(lab, ['sync', '--dry-run']);
      expect(plan.stdout).toContain('home.example.com PROTECTED (admins) → PUBLIC  (becomes PUBLIC)');
      const i = (a: string) => plan.stdout.indexOf(`# ${a}`);
      expect(i('file:cloudflared:/etc/cloudflared/config.yml')).toBeLessThan(i('access-app/home.example.com'));
      expect(i('access-app/home.example.com')).toBeLessThan(i('access-policy/admins'));
      // admins is still declared but no service uses it: it goes after the app that linked it.
      expect(plan.stdout).toContain('# access-app/home.example.com will be destroyed');
      expect(plan.stdout).toContain('# access-policy/admins will be destroyed (no service uses it any more)');
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      expect(lab.cloudflare.access.appByDomain('home.example.com')).toBeUndefined();
      expect([...lab.cloudflare.access.policies.values()].map((p) => p.name)).toEqual(['Family']);
      expect(await configOnConnector()).not.toContain('audTag');
    },
  );

  it('service tokens: the secret is written once to the named file (0600), never to the plan or logs', { timeout: 120_000 }, async () => {
    const extra = `access:
  policies:
    admins:
      emails: [me@example.com]
    robots:
      serviceTokens: [ci]
  serviceTokens:
    - { name: ci, secretFile: ./secrets/ci.json }
`;
    await writeFile(
      lab.inventoryFile,
      lab.inventoryYaml(
        DEMO_SERVICES.map((s) => (s.hostname === PVE.hostname ? { ...s, access: '[admins, robots]' } : s)),
        extra,
      ),
    );
    const run = await runCli(lab, ['sync', '--yes', '--verbose']);
    expect(run.code, run.stderr).toBe(0);
    const file = join(lab.dir, 'secrets/ci.json');
    const saved = JSON.parse(await readFile(file, 'utf8')) as { client_id: string; client_secret: string };
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const token = [...lab.cloudflare.access.serviceTokens.values()][0]!;
    expect(token.name).toBe('proxflare:homelab:ci');
    expect(saved.client_secret).toBe(token.client_secret);
    expect(run.stdout + run.stderr).not.toContain(token.client_secret);
    const robots = [...lab.cloudflare.access.policies.values()].find((p) => p.name === 'proxflare:homelab:robots')!;
    expect(robots).toMatchObject({ decision: 'non_identity', include: [{ service_token: { token_id: token.id } }] });
    expect(lab.cloudflare.access.appByDomain('home.example.com')!.policyIds).toHaveLength(2);
    const again = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
    expect(again.code, again.stdout).toBe(0);
  });

  it(
    'no Zero Trust organization: exits 1 with the one manual step; an inventory without access: never calls Access',
    { timeout: 120_000 },
    async () => {
      await lab.close();
      lab = await startSimulatedHomelab({ taskDurationMs: 50, accessTeam: null });
      await setInventory(withAccess(undefined), '');
      const plain = await runCli(lab, ['sync', '--dry-run']);
      expect(plain.code, plain.stderr).toBe(0);
      expect(lab.cloudflare.requests.filter((r) => r.path.includes('/access/'))).toEqual([]);
      await setInventory(withAccess('admins'));
      const run = await runCli(lab, ['sync', '--dry-run']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        'has no Zero Trust organization yet. One manual step: open the Cloudflare dashboard → Zero Trust, pick a team name and the Free plan',
      );
    },
  );

  it(
    'a token without Access permissions: the dry run exits 1 naming the permission, and nothing is written',
    { timeout: 120_000 },
    async () => {
      await setInventory(withAccess('admins'));
      const token = lab.cloudflare.state.tokens.get(lab.cloudflare.token)!;
      token.permissions = [PERMISSIONS.tunnelEdit, PERMISSIONS.dnsEdit, PERMISSIONS.zoneRead];
      for (const args of [
        ['sync', '--dry-run'],
        ['sync', '--yes'],
      ]) {
        const before = { cf: lab.cloudflare.requests.length, pve: lab.proxmox.requests.length };
        const run = await runCli(lab, args);
        expect(run.code, run.stdout).toBe(1);
        expect(run.stderr).toContain('"Access: Organizations, Identity Providers, and Groups Read"');
        expect(run.stderr).not.toContain('Internal error');
        expect(run.stderr + run.stdout).not.toContain(lab.cloudflare.token);
        const writes = [...lab.cloudflare.requests.slice(before.cf), ...lab.proxmox.requests.slice(before.pve)].filter(
          (r) => r.method !== 'GET',
        );
        expect(writes).toEqual([]);
      }
    },
  );

  it(
    'a token that may read but not edit Access: the apply stops at the first Access write naming the Edit permission; the protected hostname never goes public',
    { timeout: 120_000 },
    async () => {
      await setInventory(withAccess(undefined));
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const token = lab.cloudflare.state.tokens.get(lab.cloudflare.token)!;
      token.permissions = ALL_PERMISSIONS.filter((p) => p !== PERMISSIONS.accessAppsEdit);
      await setInventory([
        ...withAccess('admins'),
        { guest: 'homeassistant', hostname: 'ha-admin.example.com', port: 8123, access: 'admins' },
      ]);
      const configBefore = await configOnConnector();
      const run = await runCli(lab, ['sync', '--yes']);
      expect(run.code).toBe(1);
      expect(run.stderr + run.stdout).toContain('"Access: Apps and Policies Edit"');
      expect(run.stderr).not.toContain('Internal error');
      // Fail-closed: neither the config nor DNS moved, so no hostname is served without its app.
      expect(await configOnConnector()).toBe(configBefore);
      expect(lab.cloudflare.state.records('example.com').some((r) => r.name === 'ha-admin.example.com')).toBe(false);
      expect(lab.cloudflare.access.appByDomain('home.example.com')).toBeUndefined();
    },
  );

  it(
    "the connector refuses a protected hostname without a valid Access JWT for the app's aud, also while the app is gone",
    { timeout: 180_000 },
    async () => {
      // An origin on the jellyfin guest's loopback address, on a port of its own (no clash with other tests' origins).
      const origin = createServer((_req, res) => res.end('origin says hi'));
      await new Promise<void>((resolve) => origin.listen(0, '127.0.10.11', resolve));
      onTestFinished(() => new Promise<void>((resolve) => origin.close(() => resolve())));
      const port = (origin.address() as AddressInfo).port;
      const services: DemoService[] = [
        { guest: 'jellyfin', hostname: 'home.example.com', port, access: 'admins' },
        { guest: 'jellyfin', hostname: 'media.example.com', port },
      ];
      // The stand-in cloudflared plays the edge's entry on loopback and fetches the team keys from the simulator.
      await mkdir(join(lab.host.root, 'etc/proxflare-standin'), { recursive: true });
      await writeFile(
        join(lab.host.root, 'etc/proxflare-standin/edge.json'),
        JSON.stringify({ portFile: 'run/proxflare-standin/edge-port', accessCertsUrl: lab.cloudflare.accessCertsUrl }),
      );
      const edge = async (host: string, jwt?: string) => {
        const port = Number((await readFile(join(lab.host.root, 'run/proxflare-standin/edge-port'), 'utf8')).trim());
        return new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port, path: '/', headers: { host, ...(jwt ? { 'cf-access-jwt-assertion': jwt } : {}) } },
            (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      };
      const serviceLog = () =>
        readFile(join(lab.host.root, 'var/lib/proxflare-standin/systemd/cloudflared.service/log'), 'utf8').catch(() => '');

      await setInventory(services);
      const applied = await runCli(lab, ['sync', '--yes']);
      expect(applied.code, applied.stderr).toBe(0);
      const app = lab.cloudflare.access.appByDomain('home.example.com')!;
      const jwt = (aud: string, extra: Parameters<typeof lab.cloudflare.access.signJwt>[0] = { aud }) =>
        lab.cloudflare.access.signJwt({ ...extra, aud });

      expect((await edge('media.example.com')).status).toBe(200); // public: no check
      const bare = await edge('home.example.com');
      expect(bare).toEqual({ status: 403, body: '' });
      expect(await serviceLog()).toContain(
        'request filtered by middleware handler (AccessJWTValidator) due to: no access token in request',
      );
      expect(await edge('home.example.com', jwt(app.aud))).toEqual({ status: 200, body: 'origin says hi' });
      expect((await edge('home.example.com', jwt('0'.repeat(64)))).status).toBe(403);
      expect((await edge('home.example.com', jwt(app.aud, { aud: app.aud, key: 'foreign' }))).status).toBe(502);
      expect((await edge('home.example.com', jwt(app.aud, { aud: app.aud, issuer: 'https://evil.cloudflareaccess.com' }))).status).toBe(
        502,
      );
      expect((await edge('home.example.com', jwt(app.aud, { aud: app.aud, expiresInSeconds: -60 }))).status).toBe(502);

      // Deleted in the dashboard and made again by hand: the edge would now send no JWT, or one for
      // the new app's aud. Until the next sync the connector refuses both.
      lab.cloudflare.access.apps.delete(app.id);
      expect((await edge('home.example.com')).status).toBe(403);
      const plan = await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode']);
      expect(plan.code).toBe(2);
      expect((await runCli(lab, ['sync', '--yes'])).code).toBe(0);
      const fresh = lab.cloudflare.access.appByDomain('home.example.com')!;
      expect((await edge('home.example.com', jwt(app.aud))).status).toBe(403);
      expect((await edge('home.example.com', jwt(fresh.aud))).status).toBe(200);
    },
  );
});
