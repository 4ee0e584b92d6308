import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { startSimulatedHomelab } from '../../../src/demo/simulated-homelab.js';
import { runCli } from '../../support/homelab-cli.js';

/**
 * Issue 13 class 10: a failure is reported against the change that failed. The deploy is one
 * operation for several changes (credentials, config, unit); when cloudflared on the connector
 * rejects the new config, the config file's change is the failed one, not the credentials
 * (the first file staged) nor the unit.
 */
let lab: SimulatedHomelab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe('failure attribution', () => {
  it('a config rejected by cloudflared on the connector names file:…/config.yml; the rest is pending', { timeout: 120_000 }, async () => {
    lab = await startSimulatedHomelab({ taskDurationMs: 20 });
    await mkdir(join(lab.host.root, 'etc/proxflare-standin'), { recursive: true });
    await writeFile(join(lab.host.root, 'etc/proxflare-standin/reject-config'), 'error parsing ingress rules: a newer cloudflared says no');
    const run = await runCli(lab, ['sync', '--yes']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /✗ failed +file:cloudflared:\/etc\/cloudflared\/config\.yml \(create\): .*cloudflared rejected the new configuration/,
    );
    expect(run.stderr).toContain('a newer cloudflared says no');
    expect(run.stderr).toMatch(/· pending +file:cloudflared:\/etc\/cloudflared\/credentials\.json \(create\)/);
    expect(run.stderr).toMatch(/· pending +unit:cloudflared:cloudflared\.service \(create\)/);
    expect(run.stderr).not.toMatch(/✗ failed +(file:cloudflared:\/etc\/cloudflared\/credentials\.json|unit:)/);
    const rerun = await runCli(lab, ['sync', '--yes']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
  });
});
