import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectConnector } from '../../../src/connector/ssh-connector.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import type { SandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import { startSandboxHost } from '../../../src/sim/ssh/sandbox-host.js';
import type { Ports } from '../../../src/sync/ports.js';
import { runCli } from '../../support/homelab-cli.js';
import { routeBySshHost, withHealthTimeout, withReplicas } from '../../support/replicas.js';

/**
 * Generated guests (127.0.10.1-4, ports 8000-8003): the demo's own origin addresses are taken by
 * the demo tests, which may run at the same time.
 */
const lab4 = () => startSimulatedHomelab({ serveOrigins: true, guests: 4 });

/**
 * The faithful edge: every stand-in cloudflared dials out to the Cloudflare simulator's edge
 * endpoint and holds its connections; the connections endpoint lists exactly the live ones, and
 * visitors' requests travel edge → one live connection → the connector's own config.yml → origin.
 * Nothing here tells the simulator that a connector is up: only the processes do.
 */
let lab: SimulatedHomelab | undefined;
const extra: SandboxHost[] = [];
afterEach(async () => {
  for (const h of extra.splice(0)) await h.close();
  await lab?.close();
  lab = undefined;
});

interface Visit {
  status: number;
  body: string;
  location: string | undefined;
}

/** A visitor's request for `host`, sent to the simulated public edge. */
function visit(l: SimulatedHomelab, host: string, headers: Record<string, string> = {}): Promise<Visit> {
  const edge = new URL(l.cloudflare.edge.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: edge.hostname, port: edge.port, path: '/', headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

const originAnswer = (hostname: string) => new RegExp(`^${hostname.split('.')[0]}: hello from the simulated guest at `);

/** Waits for a condition the simulators reach on their own (a socket close arriving), checking on every turn of the event loop. */
async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tunnelOf = (l: SimulatedHomelab) => [...l.cloudflare.state.tunnels.values()].find((t) => t.deleted_at === null)!;
const listed = (l: SimulatedHomelab) => tunnelOf(l).connectors;

async function readiness(sandbox: { target(): import('../../../src/ports/connector.js').ConnectTarget }) {
  const host = await connectConnector(sandbox.target());
  try {
    return await host.readiness();
  } finally {
    await host.close();
  }
}

/** SIGKILL the sandbox's cloudflared (its whole process group, as the stand-in systemd started it). */
async function killCloudflared(sandbox: SandboxHost): Promise<void> {
  const pid = Number((await readFile(join(sandbox.root, 'var/lib/proxflare-standin/systemd/cloudflared.service/pid'), 'utf8')).trim());
  expect(pid).toBeGreaterThan(0);
  process.kill(-pid, 'SIGKILL');
}

/**
 * Requests every host through the edge, one after the other, until `work` settles, then once
 * more: every answer is kept, so a single failed request during the work is seen.
 */
async function visitWhile<T>(
  l: SimulatedHomelab,
  hosts: string[],
  work: Promise<T>,
): Promise<{ result: T; answers: (Visit & { host: string })[] }> {
  let done = false;
  const settled = work.finally(() => (done = true));
  const answers: (Visit & { host: string })[] = [];
  let i = 0;
  while (!done || answers.length < hosts.length) {
    const host = hosts[i++ % hosts.length]!;
    answers.push({ host, ...(await visit(l, host)) });
  }
  return { result: await settled, answers };
}

function expectOnlyOriginAnswers(answers: (Visit & { host: string })[]): void {
  const bad = answers.filter((a) => a.status !== 200 || !originAnswer(a.host).test(a.body));
  expect(bad.map((a) => `${a.host}: ${a.status} ${a.body.slice(0, 80)}`)).toEqual([]);
  expect(answers.length).toBeGreaterThan(0);
}

/** A second sandbox host for replica cloudflared-2, reached by SSH to 127.0.0.2 through `wrap`. */
async function secondHost(): Promise<{ second: SandboxHost; wrap: (ports: Ports) => Ports }> {
  const second = await startSandboxHost({ cloudflared: false });
  extra.push(second);
  return { second, wrap: routeBySshHost({ '127.0.0.2': second }) };
}

const REPLICAS = ['{ hostname: cloudflared, sshHost: 127.0.0.1 }', '{ hostname: cloudflared-2, sshHost: 127.0.0.2 }'];
const catchAll = (yaml: string, code: number) =>
  yaml.replace(/^tunnel:\n {2}name: homelab\n/m, `tunnel:\n  name: homelab\n  catchAll: ${code}\n`);
const HOSTS = ['svc0.example.com', 'svc1.example.com', 'svc2.example.com', 'svc3.example.com'];
const PROTECTED = 'svc3.example.com';

describe('the simulated edge', () => {
  it(
    'lists exactly the live connector, routes visitors through it to the origin, and refuses the way Cloudflare does',
    { timeout: 180_000 },
    async () => {
      lab = await lab4();
      const protectedYaml = lab.inventoryYaml(
        lab.services.map((s) => (s.hostname === PROTECTED ? { ...s, access: 'admins' } : s)),
        'access:\n  policies:\n    admins:\n      emails: [me@example.com]\n',
      );
      await writeFile(lab.inventoryFile, protectedYaml);
      const applied = await runCli(lab, ['sync', '--yes']);
      expect(applied.code, applied.stderr).toBe(0);

      // The one connector the process registered, under the id its /ready reports, with what it reported.
      const ready = await readiness(lab.host);
      expect(ready).toMatchObject({ status: 200, readyConnections: 4 });
      expect(listed(lab).map((c) => [c.id, c.version, c.arch, c.config_version, c.conns.length])).toEqual([
        [ready.connectorId, '2026.8.2-standin', 'linux_amd64', 0, 4],
      ]);
      expect(listed(lab)[0]!.conns.map((c) => c.colo_name)).toEqual(['fra01', 'ams01', 'fra08', 'ams08']);

      // A visitor gets the origin's answer, routed by the connector's own config.yml.
      const media = await visit(lab, 'svc0.example.com');
      expect(media.status).toBe(200);
      expect(media.body).toMatch(originAnswer('svc0.example.com'));
      // No record in the zone: error 1016. Not a zone on Cloudflare at all: no answer.
      const nowhere = await visit(lab, 'nothing.example.com');
      expect(nowhere.status).toBe(530);
      expect(nowhere.body).toContain('<span>1016</span>');
      await expect(visit(lab, 'svc0.example.org')).rejects.toThrow(/socket hang up|ECONNRESET/);
      // Access: the login redirect without a token, the origin with a valid one (the connector checks it too).
      const app = lab.cloudflare.access.appByDomain(PROTECTED)!;
      const login = await visit(lab, PROTECTED);
      expect(login.status).toBe(302);
      expect(login.location).toBe(`https://homelab.cloudflareaccess.com/cdn-cgi/access/login/${PROTECTED}?kid=${app.aud}&redirect_url=%2F`);
      const allowed = await visit(lab, PROTECTED, { 'cf-access-jwt-assertion': lab.cloudflare.access.signJwt({ aud: app.aud }) });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toMatch(originAnswer(PROTECTED));
      expect(
        (await visit(lab, PROTECTED, { 'cf-access-jwt-assertion': lab.cloudflare.access.signJwt({ aud: '0'.repeat(64) }) })).status,
      ).toBe(302);

      // status --public: the code per hostname; the protected one is ok because it redirects to the login.
      const pub = await runCli(lab, ['status', '--public', '--json']);
      expect(pub.code, pub.stderr).toBe(0);
      const checks = (JSON.parse(pub.stdout) as { public: { hostname: string; status: number; ok: boolean }[] }).public;
      expect(checks.map((c) => [c.hostname, c.status, c.ok]).sort()).toEqual(
        HOSTS.map((h) => [h, h === PROTECTED ? 302 : 200, true]).sort(),
      );

      // A second process with the wrong secret is refused by the edge (as cloudflared#426 shows) and exits.
      const creds = JSON.parse(await readFile(join(lab.host.root, 'etc/cloudflared/credentials.json'), 'utf8')) as Record<string, string>;
      const wrong = join(lab.dir, 'wrong-credentials.json');
      await writeFile(wrong, JSON.stringify({ ...creds, TunnelSecret: Buffer.alloc(32, 7).toString('base64') }));
      const refused = await runStandin(lab, [
        '--config',
        join(lab.host.root, 'etc/cloudflared/config.yml'),
        '--credentials-file',
        wrong,
        'tunnel',
        'run',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('Register tunnel error from server side error="Unauthorized: Invalid tunnel secret"');
      expect(refused.stderr).not.toContain(creds['TunnelSecret']!);
      expect(listed(lab).map((c) => c.id)).toEqual([ready.connectorId]);

      // A cleanup of the connections while it runs: it reconnects at once (new connection ids), still listed.
      const oldConns = listed(lab)[0]!.conns.map((c) => c.id);
      lab.cloudflare.state.cleanupConnections(tunnelOf(lab).id);
      expect(listed(lab).map((c) => [c.id, c.conns.length])).toEqual([[ready.connectorId, 4]]);
      expect(listed(lab)[0]!.conns.filter((c) => oldConns.includes(c.id))).toEqual([]);

      // Killed: its connections close, the registration is gone, visitors get 1033.
      await killCloudflared(lab.host);
      await until('the killed connector to leave the connections endpoint', () => listed(lab!).length === 0);
      const down = await visit(lab, 'svc0.example.com');
      expect(down.status).toBe(530);
      expect(down.body).toContain('<span>1033</span>');
      const after = await runCli(lab, ['status', '--public']);
      expect(after.stdout).toMatch(/https:\/\/svc0\.example\.com\/ +530 +FAIL +Cloudflare error 1033/);
      // Access still answers first, as on the real edge.
      expect(after.stdout).toMatch(/https:\/\/svc3\.example\.com\/ +302 +ok/);
    },
  );

  it(
    'kill cloudflared on one replica: degraded, status names it, the edge still answers from the other; sync brings it back',
    { timeout: 240_000 },
    async () => {
      lab = await lab4();
      const { second, wrap } = await secondHost();
      await writeFile(lab.inventoryFile, withReplicas(lab.inventoryYaml(), REPLICAS));
      const applied = await runCli(lab, ['sync', '--yes'], wrap);
      expect(applied.code, applied.stderr).toBe(0);
      const [one, two] = [await readiness(lab.host), await readiness(second)];
      expect(
        listed(lab)
          .map((c) => c.id)
          .sort(),
      ).toEqual([one.connectorId, two.connectorId].sort());

      await killCloudflared(second);
      await until('the killed replica to leave the connections endpoint', () => listed(lab!).length === 1);
      expect(listed(lab).map((c) => c.id)).toEqual([one.connectorId]);

      const status = await runCli(lab, ['status'], wrap);
      expect(status.stdout).toMatch(/tunnel\/homelab: healthy, 4 connections/);
      expect(status.stdout).toMatch(/lxc\/cloudflared-2: running .*; cloudflared\.service inactive; \/ready no answer/);
      expect(status.stdout).toContain('connectors: degraded (lxc/cloudflared-2 not healthy)');
      const json = JSON.parse((await runCli(lab, ['status', '--json'], wrap)).stdout) as {
        replicas: { address: string; service: string; seenByCloudflare: boolean }[];
      };
      expect(json.replicas.map((r) => [r.address, r.service, r.seenByCloudflare])).toEqual([
        ['lxc/cloudflared', 'active', true],
        ['lxc/cloudflared-2', 'inactive', false],
      ]);
      for (const host of [...HOSTS, ...HOSTS]) {
        const answer = await visit(lab, host);
        expect(answer.status).toBe(200);
        expect(answer.body).toMatch(originAnswer(host));
      }

      // The restart path: the plan sees the unit down and starts it; the edge lists it again.
      const plan = await runCli(lab, ['sync', '--dry-run', '--json'], wrap);
      const changes = (JSON.parse(plan.stdout) as { changes: { address: string; action: string }[] }).changes.filter(
        (c) => c.action !== 'noop',
      );
      expect(changes.map((c) => `${c.action} ${c.address}`)).toEqual(['update unit:cloudflared-2:cloudflared.service']);
      const { result: healed, answers } = await visitWhile(lab, HOSTS, runCli(lab, ['sync', '--yes'], wrap));
      expect(healed.code, healed.stderr).toBe(0);
      expectOnlyOriginAnswers(answers);
      const back = await readiness(second);
      expect(back.connectorId).not.toBe(two.connectorId);
      expect(
        listed(lab)
          .map((c) => c.id)
          .sort(),
      ).toEqual([one.connectorId, back.connectorId].sort());
      expect((await runCli(lab, ['status'], wrap)).stdout).toContain('connectors: healthy');
    },
  );

  it(
    'one connector → two replicas, then a rolled config change: requests through the edge see only origin answers throughout',
    { timeout: 300_000 },
    async () => {
      lab = await lab4();
      const { second, wrap } = await secondHost();
      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
      expect(listed(lab)).toHaveLength(1);

      await writeFile(lab.inventoryFile, withReplicas(lab.inventoryYaml(), REPLICAS));
      const grow = await visitWhile(lab, HOSTS, runCli(lab, ['sync', '--yes'], wrap));
      expect(grow.result.code, grow.result.stderr).toBe(0);
      expectOnlyOriginAnswers(grow.answers);
      expect(listed(lab)).toHaveLength(2);
      const before = listed(lab).map((c) => c.id);

      await writeFile(lab.inventoryFile, catchAll(withReplicas(lab.inventoryYaml(), REPLICAS), 503));
      const roll = await visitWhile(lab, HOSTS, runCli(lab, ['sync', '--yes'], wrap));
      expect(roll.result.code, roll.result.stderr).toBe(0);
      expect(roll.result.stderr).toMatch(
        /unit:cloudflared:cloudflared\.service: restarted[\s\S]*unit:cloudflared-2:cloudflared\.service: restarted/,
      );
      expectOnlyOriginAnswers(roll.answers);
      // Both replicas were restarted (new connector ids) and both serve the new config: a hostname
      // routed to the tunnel but in no rule gets the new catch-all from each of them.
      const after = listed(lab).map((c) => c.id);
      expect(after).toHaveLength(2);
      expect(after.filter((id) => before.includes(id))).toEqual([]);
      lab.cloudflare.state.seedRecord('example.com', { name: 'stray', content: `${tunnelOf(lab).id}.cfargotunnel.com`, proxied: true });
      // Round robin over both replicas' connections: each answers with its config's catch-all.
      expect((await Promise.all(Array.from({ length: 8 }, () => visit(lab!, 'stray.example.com')))).map((v) => v.status)).toEqual(
        Array(8).fill(503),
      );
    },
  );

  it(
    'a replica that fails its health gate is rolled back, the other is untouched, exit 1, and every route is still served',
    { timeout: 240_000 },
    async () => {
      lab = await lab4();
      const { second, wrap } = await secondHost();
      await writeFile(lab.inventoryFile, withReplicas(lab.inventoryYaml(), REPLICAS));
      expect((await runCli(lab, ['sync', '--yes'], wrap)).code).toBe(0);
      const secondId = (await readiness(second)).connectorId;

      // The first replica's next cloudflared runs but holds no edge connection.
      await mkdir(join(lab.host.root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(lab.host.root, 'var/lib/proxflare-standin/cloudflared-no-edge'), '');
      await writeFile(lab.inventoryFile, withHealthTimeout(catchAll(withReplicas(lab.inventoryYaml(), REPLICAS), 503), 2));
      const { result: roll, answers } = await visitWhile(lab, HOSTS, runCli(lab, ['sync', '--yes'], wrap));
      expect(roll.code).toBe(1);
      expect(roll.stderr).toMatch(
        /replica cloudflared did not come back healthy and was rolled back; the apply stopped there and traffic is still served by cloudflared-2, which was not touched/,
      );
      expectOnlyOriginAnswers(answers);
      // Untouched: the same process, still the only connector the edge lists.
      expect((await readiness(second)).connectorId).toBe(secondId);
      expect(listed(lab).map((c) => c.id)).toEqual([secondId]);
      for (const host of HOSTS) expect((await visit(lab, host)).status).toBe(200);
    },
  );
});

/** Runs the sandbox's installed stand-in cloudflared directly (not under the stand-in systemd). */
async function runStandin(l: SimulatedHomelab, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(l.host.root, 'usr/bin/cloudflared'), args, {
      env: { PATH: `${l.host.binDir}:${process.env.PATH}`, PROXFLARE_SANDBOX_ROOT: l.host.root, PROXFLARE_SANDBOX_METRICS: '127.0.0.1:0' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
