import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RUN_STDIN_SCRIPT, wrap } from '../../../src/connector/remote-scripts.js';
import { connectConnector } from '../../../src/connector/ssh-connector.js';
import { SshSession } from '../../../src/connector/ssh-session.js';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { WATCHDOG_PATHS } from '../../../src/render/watchdog.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * The watchdog proxflare installs on each connector, run over real SSH in the sandbox (the
 * stand-in systemctl records the timer as started but never fires it: each run below is one
 * timer tick). Its decisions depend only on /ready and its state file, so they are checked run
 * by run, never by waiting.
 */
let lab: SimulatedHomelab;
beforeEach(async () => {
  lab = await startSimulatedHomelab({ serveOrigins: false });
  const first = await runCli(lab, ['sync', '--yes']);
  expect(first.code, first.stderr).toBe(0);
});
afterEach(async () => {
  await lab.close();
});

async function onConnector(lines: string[]): Promise<string> {
  const h = lab.host;
  const session = await SshSession.open({
    host: h.host,
    port: h.port,
    user: h.user,
    privateKey: h.privateKeyPath,
    knownHosts: h.knownHostsPath,
    trustOnFirstUse: false,
  });
  try {
    const result = await session.exec(RUN_STDIN_SCRIPT, wrap({ root: h.root, binDir: h.binDir, metrics: h.metrics }, lines));
    expect(result.code, result.stderr).toBe(0);
    return result.stdout.trim();
  } finally {
    await session.close();
  }
}
const tick = () => onConnector([`"$R"${WATCHDOG_PATHS.script}`]);
const statePath = () => join(lab.host.root, WATCHDOG_PATHS.state);
const state = async () => (await readFile(statePath(), 'utf8')).trim().split(' ').map(Number);
const setState = (failures: number, restarts: number, next: number) => writeFile(statePath(), `${failures} ${restarts} ${next}\n`);
async function connectorId(): Promise<string | undefined> {
  const host = await connectConnector(lab.host.target());
  try {
    return (await host.readiness()).connectorId;
  } finally {
    await host.close();
  }
}
const fault = join('var/lib/proxflare-standin/cloudflared-no-edge');

describe('the connector watchdog', () => {
  it('is installed as managed files, its timer enabled and started; a second sync changes nothing', { timeout: 120_000 }, async () => {
    expect((await stat(join(lab.host.root, WATCHDOG_PATHS.script))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(lab.host.root, WATCHDOG_PATHS.timer), 'utf8')).toMatch(/^OnUnitActiveSec=10s$/m);
    expect(await readFile(join(lab.host.root, WATCHDOG_PATHS.service), 'utf8')).toMatch(
      /^ExecStart=\/usr\/local\/lib\/proxflare\/cloudflared-watchdog$/m,
    );
    expect(await onConnector(['systemctl is-enabled proxflare-watchdog.timer; systemctl is-active proxflare-watchdog.timer'])).toBe(
      'enabled\nactive',
    );
    expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
  });

  it(
    'restarts cloudflared after 3 failed /ready checks in a row, backs off 5 s, 10 s … 300 s, and resets on 200',
    { timeout: 120_000 },
    async () => {
      expect(await tick()).toBe('');
      expect(await state()).toEqual([0, 0, 0]);
      const before = await connectorId();

      // Running, but no edge connection: /ready answers 503.
      await mkdir(join(lab.host.root, 'var/lib/proxflare-standin'), { recursive: true });
      await writeFile(join(lab.host.root, fault), '');
      expect(await tick()).toBe('watchdog: /ready 503 (1 of 3 before a restart)');
      expect(await tick()).toBe('watchdog: /ready 503 (2 of 3 before a restart)');
      expect(await connectorId()).toBe(before);
      const t0 = Math.floor(Date.now() / 1000);
      expect(await tick()).toBe(
        'watchdog: /ready 503 3 times in a row: restarting cloudflared.service (restart 1; the next one not before 5 s)',
      );
      const restarted = await connectorId();
      expect(restarted).not.toBe(before);
      const [failures, restarts, next] = await state();
      expect([failures, restarts]).toEqual([3, 1]);
      expect(next! - t0).toBeGreaterThanOrEqual(5);
      expect(next! - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(5);

      // Within the back-off window: no restart.
      await setState(3, 1, 4_000_000_000);
      expect(await tick()).toBe('watchdog: /ready 503; backing off, next restart not before 4000000000');
      expect(await connectorId()).toBe(restarted);
      // Each further restart doubles the wait, up to 5 min.
      for (const [done, delay] of [
        [1, 10],
        [2, 20],
        [5, 160],
        [6, 300],
        [9, 300],
      ] as const) {
        await setState(3, done, 0);
        expect(await tick()).toBe(
          `watchdog: /ready 503 4 times in a row: restarting cloudflared.service (restart ${done + 1}; the next one not before ${delay} s)`,
        );
        expect((await state()).slice(0, 2)).toEqual([4, done + 1]);
      }

      await rm(join(lab.host.root, fault));
      expect(await tick()).toBe('watchdog: /ready answers 200 again; back-off reset');
      expect(await state()).toEqual([0, 0, 0]);
    },
  );

  it('brings back a killed cloudflared; leaves a disabled one (standby, stopped on purpose) alone', { timeout: 120_000 }, async () => {
    const pid = Number((await readFile(join(lab.host.root, 'var/lib/proxflare-standin/systemd/cloudflared.service/pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    expect(await onConnector(['systemctl is-active cloudflared.service || true'])).toBe('inactive');
    expect(await tick()).toBe('watchdog: /ready did not answer (1 of 3 before a restart)');
    expect(await tick()).toBe('watchdog: /ready did not answer (2 of 3 before a restart)');
    expect(await tick()).toMatch(/^watchdog: \/ready did not answer 3 times in a row: restarting cloudflared\.service/);
    expect(await onConnector(['systemctl is-active cloudflared.service'])).toBe('active');
    expect(await connectorId()).toBeDefined();

    await onConnector(['systemctl disable --now cloudflared.service']);
    expect(await tick()).toBe('watchdog: cloudflared.service is not enabled (standby or stopped on purpose): nothing to do');
    expect(await tick()).toBe('watchdog: cloudflared.service is not enabled (standby or stopped on purpose): nothing to do');
    expect(await onConnector(['systemctl is-active cloudflared.service || true'])).toBe('inactive');
  });

  it('a changed watchdog file is redeployed without restarting cloudflared', { timeout: 120_000 }, async () => {
    const id = await connectorId();
    await writeFile(join(lab.host.root, WATCHDOG_PATHS.timer), 'edited by hand\n');
    const dry = JSON.parse((await runCli(lab, ['sync', '--dry-run', '--json'])).stdout) as {
      changes: { address: string; action: string; reason: string }[];
    };
    expect(dry.changes.filter((c) => c.action !== 'noop').map((c) => [c.action, c.address, c.reason])).toEqual([
      ['update', 'file:cloudflared:/etc/systemd/system/proxflare-watchdog.timer', 'content differs from the inventory'],
      [
        'update',
        'unit:cloudflared:cloudflared.service',
        'deploy file:cloudflared:/etc/systemd/system/proxflare-watchdog.timer (cloudflared keeps running)',
      ],
    ]);
    const applied = await runCli(lab, ['sync', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await readFile(join(lab.host.root, WATCHDOG_PATHS.timer), 'utf8')).toMatch(/^OnUnitActiveSec=10s$/m);
    expect(await connectorId()).toBe(id);
  });

  it(
    "systemd 254 or later gets RestartSteps=/RestartMaxDelaySec= in cloudflared.service; Debian 12's 252 does not",
    { timeout: 120_000 },
    async () => {
      const unit = () => readFile(join(lab.host.root, 'etc/systemd/system/cloudflared.service'), 'utf8');
      expect(await unit()).not.toMatch(/RestartSteps/);
      await writeFile(join(lab.host.root, 'var/lib/proxflare-standin/systemd-version'), '257\n');
      const applied = await runCli(lab, ['sync', '--yes']);
      expect(applied.code, applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/^\s*\+\s*RestartSteps=6$/m);
      const text = await unit();
      expect(text).toMatch(/^RestartSec=5s\nRestartSteps=6\nRestartMaxDelaySec=300s$/m);
      expect(text).toMatch(/^\[Unit\]\nStartLimitIntervalSec=0$/m);
      expect((await runCli(lab, ['sync', '--dry-run', '--detailed-exitcode'])).code).toBe(0);
    },
  );
});
