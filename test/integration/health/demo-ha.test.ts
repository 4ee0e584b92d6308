import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/io.js';

describe('proxflare demo --ha', () => {
  it('two replicas on two nodes: apply, a rolling change with its gates in order, one killed (degraded, named), watchdog recovery, healthy', { timeout: 300_000 }, async () => {
    let out = '';
    const io: CliIo = {
      stdout: (t) => (out += t),
      stderr: (t) => (out += t),
      env: { PATH: process.env.PATH },
      cwd: process.cwd(),
      isTTY: false,
      confirm: async () => false,
      createPorts: () => {
        throw new Error('the demo builds its own ports');
      },
    };
    const code = await main(['node', 'proxflare', '--no-color', 'demo', '--ha'], io);
    expect(code, out).toBe(0);
    expect(out).toMatch(/a cluster of pve and pve2/);
    expect(out).toContain('+ lxc/cloudflared-2');

    // The roll: cloudflared-1 passes all three gates before cloudflared-2 is touched.
    const roll = out.slice(out.indexOf('# the rolling apply'));
    const order = [
      '… unit:cloudflared-1:cloudflared.service: deploying and restarting cloudflared (health-gated',
      '✓ unit:cloudflared-1:cloudflared.service: restarted; /ready 200',
      '✓ unit:cloudflared-1:cloudflared.service: /config serves the new ingress',
      '✓ tunnel/homelab: connector ',
      '… unit:cloudflared-2:cloudflared.service: deploying and restarting cloudflared (health-gated',
      '✓ unit:cloudflared-2:cloudflared.service: restarted; /ready 200',
      '✓ unit:cloudflared-2:cloudflared.service: /config serves the new ingress',
    ];
    let at = 0;
    for (const line of order) {
      const i = roll.indexOf(line, at);
      expect(i, `${line}\n--- after offset ${at} in ---\n${roll}`).toBeGreaterThan(-1);
      at = i + line.length;
    }

    const degraded = out.slice(out.indexOf('# status: degraded'), out.indexOf('# recovery'));
    expect(degraded).toMatch(/lxc\/cloudflared-2: running .*cloudflared\.service inactive; \/ready no answer/);
    expect(degraded).toMatch(/connectors: degraded \(lxc\/cloudflared-2 not healthy\)/);
    expect(out).toMatch(/tick 3: watchdog: \/ready did not answer 3 times in a row: restarting cloudflared\.service/);
    const healthy = out.slice(out.indexOf('# status: healthy again'));
    expect(healthy).toMatch(/lxc\/cloudflared-2: running .*cloudflared\.service active; \/ready 200, 4 ready connections; connector \S+ seen by Cloudflare/);
    expect(healthy).toMatch(/connectors: healthy/);
    expect(out).toContain('HA demo complete.');
  });
});
