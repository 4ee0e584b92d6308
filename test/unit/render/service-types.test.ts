import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { matchIngressRule, parseIngressConfig, validateIngressConfig } from '../../../src/ingress/validate-ingress.js';
import { createRenderer } from '../../../src/render/templates.js';
import { effectiveOriginRequest } from '../../../src/render/tunnel-settings.js';
import type { ActualState } from '../../../src/plan/actual-state.js';
import { computeDesired } from '../../../src/plan/desired-state.js';
import { MINIMAL, load } from '../inventory/helpers.js';

/**
 * Golden-style: an inventory using every tunnel setting and service type renders exactly this
 * config.yml, the offline cloudflared validator (src/ingress, ported from cloudflared's
 * ingress/ingress.go) accepts it, and `ingress rule` routes each URL to the intended service.
 */
const TUNNEL = [
  '  protocol: http2',
  '  edgeIpVersion: 4',
  '  logLevel: warn',
  '  gracePeriod: 1m',
  '  retries: 3',
  '  originRequest: { connectTimeout: 10s, noTLSVerify: true }',
  '  catchAll: hello_world',
  '',
].join('\n');

const HOSTS = `hosts:
  - name: box
    address: 192.168.1.9
    services:
      - { hostname: a.example.com, scheme: unix+tls, socket: /run/app.sock }
      - { hostname: b.example.com, scheme: hello_world }
      - { hostname: c.example.com, scheme: bastion }
      - hostname: d.example.com
        scheme: socks
        originRequest:
          ipRules:
            - { prefix: 192.168.1.0/24, ports: [22, 80], allow: true }
      - { path: ^/\\.well-known/, scheme: http_status, status: 403 }
      - { hostname: e.example.com, port: 443, scheme: https, originRequest: { noTLSVerify: false } }
`;

const GOLDEN = `# managed by proxflare; do not edit by hand — changes are reverted by the next sync
tunnel: 6f1c2a4e-8b7d-4e2f-9a1b-3c5d7e9f0a2b
credentials-file: /etc/cloudflared/credentials.json
metrics: 127.0.0.1:20241
edge-ip-version: "4"
grace-period: 1m
loglevel: warn
originRequest:
  connectTimeout: 10s
  noTLSVerify: true
protocol: http2
retries: 3
ingress:
  - hostname: a.example.com
    service: unix+tls:/run/app.sock
  - hostname: b.example.com
    service: hello_world
  - hostname: c.example.com
    service: bastion
  - hostname: d.example.com
    service: socks-proxy
    originRequest:
      ipRules:
        - allow: true
          ports:
            - 22
            - 80
          prefix: 192.168.1.0/24
  - hostname: e.example.com
    service: https://192.168.1.9:443
    originRequest:
      noTLSVerify: false
  - hostname: "*"
    path: ^/\\.well-known/
    service: http_status:403
  - service: hello_world
`;

function actual(): ActualState {
  return {
    proxmox: { connector: undefined, foreignConnectors: [], templatePresent: true, guestIps: new Map(), nodeAddresses: ['192.168.1.2'] },
    tunnel: { id: '6f1c2a4e-8b7d-4e2f-9a1b-3c5d7e9f0a2b', name: 'homelab', status: 'healthy', createdAt: '2026-01-01T00:00:00Z' },
    zones: [],
    host: undefined,
  };
}

describe('tunnel settings and service types, rendered', () => {
  it('render the golden config, which the offline cloudflared validator accepts without warnings', async () => {
    const inventory = await load(MINIMAL.replace('tunnel:\n  name: homelab\n', `tunnel:\n  name: homelab\n${TUNNEL}`) + HOSTS);
    const desired = computeDesired(inventory, actual(), createRenderer());
    expect(desired.errors).toEqual([]);
    expect(desired.configYml).toBe(GOLDEN);
    expect(validateIngressConfig(desired.configYml)).toEqual({ ok: true, output: 'OK', warnings: [] });
    // A path rule without hostname has no DNS record of its own.
    expect(desired.hostnames).toEqual(['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com', 'e.example.com']);
  });

  it('route each request where the inventory means it to go (cloudflared `ingress rule`)', () => {
    const parsed = parseIngressConfig(GOLDEN);
    if (!parsed.ok) throw new Error(parsed.output);
    const rule = (url: string) => matchIngressRule(parsed.ingress, url).output;
    expect(rule('https://a.example.com/x')).toBe('Matched rule #0\n\thostname: a.example.com\n\tservice: unix+tls:/run/app.sock');
    expect(rule('https://b.example.com/')).toBe('Matched rule #1\n\thostname: b.example.com\n\tservice: hello_world');
    expect(rule('https://c.example.com/')).toBe('Matched rule #2\n\thostname: c.example.com\n\tservice: bastion');
    expect(rule('https://d.example.com/')).toBe('Matched rule #3\n\thostname: d.example.com\n\tservice: socks-proxy');
    expect(rule('https://e.example.com/.well-known/x')).toBe(
      'Matched rule #4\n\thostname: e.example.com\n\tservice: https://192.168.1.9:443',
    );
    expect(rule('https://other.example.com/.well-known/acme')).toBe(
      'Matched rule #5\n\thostname: *\n\tpath: ^/\\.well-known/\n\tservice: http_status:403',
    );
    expect(rule('https://other.example.com/')).toBe('Matched rule #6\n\tservice: hello_world');
  });

  it('use only service names the real cloudflared accepted (the recorded services_ok golden case)', async () => {
    const golden = JSON.parse(await readFile(new URL('../../fixtures/cloudflared/ingress-golden.json', import.meta.url), 'utf8')) as {
      validate_cases: { name: string; config_yaml: string; exit_code: number }[];
    };
    const servicesOk = golden.validate_cases.find((c) => c.name === 'services_ok')!;
    expect(servicesOk.exit_code).toBe(0);
    for (const service of ['unix+tls:/run/x.sock', 'hello_world', 'bastion', 'socks-proxy'])
      expect(servicesOk.config_yaml).toContain(`service: ${service}\n`);
  });

  it('a catch-all the validator refuses never reaches the connector', () => {
    expect(() => createRenderer().renderConfig({ tunnelId: 't', credentialsFile: '/c', rules: [], catchAll: 'http_status:99' })).toThrow(
      /invalid HTTP status code: 99/,
    );
  });
});

describe('effectiveOriginRequest (cloudflared ingress/config.go setConfig)', () => {
  it('takes each key from the rule when set, else from the tunnel defaults', () => {
    expect(effectiveOriginRequest({ connectTimeout: '10s', noTLSVerify: true }, { noTLSVerify: false })).toEqual({
      connectTimeout: '10s',
      noTLSVerify: false,
    });
    expect(effectiveOriginRequest(undefined, { httpHostHeader: 'x' })).toEqual({ httpHostHeader: 'x' });
  });

  it("keeps the default ipRules when the rule's list is empty, and replaces access whole", () => {
    const defaults = { ipRules: [{ prefix: '10.0.0.0/8', allow: true }], access: { required: true, teamName: 't', audTag: ['a'] } };
    expect(effectiveOriginRequest(defaults, { ipRules: [], access: { required: false } })).toEqual({
      ipRules: [{ prefix: '10.0.0.0/8', allow: true }],
      access: { required: false },
    });
  });
});
