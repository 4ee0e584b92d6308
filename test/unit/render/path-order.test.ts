/**
 * Issue 12: path rules of one hostname keep the inventory's order. The inventory below sends
 * each path to a different guest; the rendered config is routed with the project's port of
 * `cloudflared tunnel ingress rule`, and the rule that can never match shows in the plan.
 */
import { describe, expect, it } from 'vitest';
import { matchIngressRule, parseIngressConfig } from '../../../src/ingress/validate-ingress.js';
import { BASE_INVENTORY, fakeHomelab } from '../../support/fake-homelab.js';

const GUESTS: [name: string, vmid: number, ip: string, path: string][] = [
  ['admin', 301, '192.0.2.31', '^/admin$'],
  ['words', 302, '192.0.2.32', '^/[a-z]+$'],
  ['api', 303, '192.0.2.33', '^/api'],
  ['api-v2', 304, '192.0.2.34', '^/api/v2'],
  ['root', 305, '192.0.2.35', '/'],
];

const inventory =
  BASE_INVENTORY.replace(/guests:\n[\s\S]*$/, 'guests:\n') +
  GUESTS.map(
    ([name, vmid, ip, path]) =>
      `  - name: ${name}\n    type: vm\n    vmid: ${vmid}\n    ip: ${ip}\n    services:\n      - hostname: app.example.com\n        path: "${path}"\n        port: 8080\n`,
  ).join('');

describe('path rules in the inventory order', () => {
  it('routes each path to the guest the inventory intends and reports the unreachable rule in the plan', async () => {
    const lab = await fakeHomelab(inventory);
    const dry = await lab.cli('sync', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      'Warning: ingress rule "app.example.com path ^/api/v2 → http://192.0.2.34:8080" can never match: the earlier rule "app.example.com path ^/api → http://192.0.2.33:8080" already matches every request it would',
    );
    // Only that one: the others each receive requests of their own.
    expect(dry.stdout.match(/can never match|may never match/g)).toHaveLength(1);

    const applied = await lab.cli('sync', '--yes');
    expect(applied.code, applied.stderr).toBe(0);
    const config = lab.connector.files.get('/etc/cloudflared/config.yml')!.content;
    const parsed = parseIngressConfig(config);
    if (!parsed.ok) throw new Error(parsed.output);
    const routed = (url: string) => {
      const match = matchIngressRule(parsed.ingress, url);
      if (!match.ok) throw new Error(match.output);
      return /service: (.*)$/m.exec(match.output)![1];
    };
    expect(routed('https://app.example.com/admin')).toBe('http://192.0.2.31:8080');
    expect(routed('https://app.example.com/about')).toBe('http://192.0.2.32:8080');
    expect(routed('https://app.example.com/api/x')).toBe('http://192.0.2.33:8080');
    expect(routed('https://app.example.com/api/v2/x')).toBe('http://192.0.2.33:8080');
    expect(routed('https://app.example.com/')).toBe('http://192.0.2.35:8080');
    expect(routed('https://app.example.com/a/b')).toBe('http://192.0.2.35:8080');
  });
});
