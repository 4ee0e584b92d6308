import { describe, expect, it } from 'vitest';
import { planRemoteConfig, remoteConfigOf } from '../../../src/plan/plan-remote-config.js';
import type { RemoteIngressRule } from '../../../src/ports/cloudflare.js';
import type { ConnectorState } from '../../../src/ports/connector.js';
import { MANAGED_HEADER } from '../../../src/render/managed-header.js';

const OURS = `${MANAGED_HEADER}\n`;
const yml = (rules: string) => `${OURS}tunnel: t\ningress:\n${rules}  - service: http_status:404\n`;
const tunnel = { id: 't', name: 'homelab', status: 'healthy', createdAt: '2026-01-01T00:00:00Z', configSrc: 'cloudflare' as const };
const adoptedHost = { files: new Map([['/etc/cloudflared/config.yml', { content: OURS, mode: 0o644 }]]) } as unknown as ConnectorState;
const plan = (configYml: string, ingress: RemoteIngressRule[], opts: { adopt?: boolean; adopted?: boolean } = {}) =>
  planRemoteConfig({
    tunnelName: 'homelab',
    accountId: 'a',
    tunnel,
    remote: { source: 'cloudflare', version: 3, ingress },
    configYml,
    hosts: [opts.adopted === false ? undefined : adoptedHost],
    adopt: opts.adopt ?? false,
  });
const catchAll = { service: 'http_status:404' };

describe('planRemoteConfig', () => {
  it('turns config.yml into the configurations body: Go durations become integer seconds, empty originRequest dropped', () => {
    const body = remoteConfigOf(
      yml('  - hostname: a.example.com\n    service: http://10.0.0.1:80\n    originRequest:\n      connectTimeout: 1m30s\n'),
    );
    expect(body.ingress[0]).toEqual({ hostname: 'a.example.com', service: 'http://10.0.0.1:80', originRequest: { connectTimeout: 90 } });
  });

  it('is a conflict on a remotely-managed tunnel never adopted, until --adopt', () => {
    const text = yml('  - hostname: a.example.com\n    service: http://10.0.0.1:80\n');
    expect(plan(text, [], { adopted: false }).conflicts.map((c) => c.address)).toEqual(['tunnel/homelab/configuration']);
    expect(plan(text, [], { adopted: false, adopt: true }).change?.action).toBe('update');
  });

  it('ignores the order of rules for different exact hostnames, but not a wildcard before an exact one', () => {
    const text = yml(
      '  - hostname: a.example.com\n    service: http://10.0.0.1:80\n  - hostname: b.example.com\n    service: http://10.0.0.2:80\n',
    );
    const a = { hostname: 'a.example.com', service: 'http://10.0.0.1:80', originRequest: {} };
    const b = { hostname: 'b.example.com', service: 'http://10.0.0.2:80' };
    expect(plan(text, [b, a, catchAll]).change?.action).toBe('noop');
    expect(plan(text, [a, { ...b, service: 'http://10.0.0.3:80' }, catchAll]).change?.action).toBe('update');

    const wild = yml(
      '  - hostname: a.example.com\n    service: http://10.0.0.1:80\n  - hostname: "*.example.com"\n    service: http://10.0.0.2:80\n',
    );
    const w = { hostname: '*.example.com', service: 'http://10.0.0.2:80' };
    expect(plan(wild, [a, w, catchAll]).change?.action).toBe('noop');
    expect(plan(wild, [w, a, catchAll]).change?.action).toBe('update');
  });

  it('plans nothing for a locally-managed tunnel', () => {
    const r = planRemoteConfig({
      tunnelName: 'homelab',
      accountId: 'a',
      tunnel: { ...tunnel, configSrc: 'local' },
      remote: undefined,
      configYml: yml(''),
      hosts: [],
      adopt: true,
    });
    expect(r).toEqual({ change: undefined, conflicts: [] });
  });
});
