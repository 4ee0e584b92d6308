import { describe, expect, it } from 'vitest';
import type { HostPlanInput } from '../../../src/plan/plan-host.js';
import { planHost } from '../../../src/plan/plan-host.js';
import { sha256Hex } from '../../../src/core/digest.js';
import { planStaging } from '../../../src/plan/plan-staging.js';
import type { ConnectorState } from '../../../src/ports/connector.js';
import type { TunnelChange, Upsert } from '../../../src/plan/types.js';

const TUNNEL = '6f1c6b0e-1111-4a2b-9c3d-000000000001';
const CONFIG = '/etc/cloudflared/config.yml';
const CREDS = '/etc/cloudflared/credentials.json';
const existingTunnel: Upsert<TunnelChange> = {
  kind: 'tunnel',
  address: 'tunnel/homelab',
  action: 'noop',
  reason: 'exists',
  before: { id: TUNNEL, name: 'homelab' },
  after: { id: TUNNEL, name: 'homelab' },
  accountId: 'acc',
};

function host(over: Partial<ConnectorState> = {}): ConnectorState {
  return {
    cloudflaredVersion: '2026.8.2',
    files: new Map([
      [CONFIG, { content: 'config v1\n', mode: 0o644, owner: 'root' }],
      [CREDS, { content: JSON.stringify({ TunnelID: TUNNEL, TunnelSecret: 'c2VjcmV0' }), mode: 0o600, owner: 'root' }],
    ]),
    unit: { enabled: true, active: true },
    ...over,
  };
}

function input(over: Partial<HostPlanInput> = {}): HostPlanInput {
  return {
    connector: 'cloudflared',
    host: host(),
    tunnel: existingTunnel,
    accountId: 'acc',
    source: { type: 'apt' },
    credentialsPath: CREDS,
    files: [{ path: CONFIG, content: 'config v1\n', mode: 0o644, validate: true }],
    unit: 'cloudflared.service',
    ...over,
  };
}

const actions = (p: ReturnType<typeof planHost>) => ({
  pkg: p.pkg.action,
  credentials: p.credentials.action,
  file: p.files[0]!.action,
  unit: p.unit.action,
  restart: p.unit.restart,
});

describe('planHost', () => {
  const table: [string, Partial<HostPlanInput>, ReturnType<typeof actions>][] = [
    ['everything in place', {}, { pkg: 'noop', credentials: 'noop', file: 'noop', unit: 'noop', restart: false }],
    ['host not readable yet', { host: undefined }, { pkg: 'create', credentials: 'create', file: 'create', unit: 'create', restart: true }],
    [
      'config changed',
      { files: [{ path: CONFIG, content: 'config v2\n', mode: 0o644, validate: true }] },
      { pkg: 'noop', credentials: 'noop', file: 'update', unit: 'update', restart: true },
    ],
    [
      'config mode drifted',
      { host: host({ files: new Map([...host().files, [CONFIG, { content: 'config v1\n', mode: 0o666, owner: 'root' }]]) }) },
      { pkg: 'noop', credentials: 'noop', file: 'update', unit: 'update', restart: true },
    ],
    [
      'cloudflared missing',
      { host: host({ cloudflaredVersion: undefined }) },
      { pkg: 'create', credentials: 'noop', file: 'noop', unit: 'update', restart: true },
    ],
    [
      'pinned newer version',
      { source: { type: 'apt', version: '2026.9.0' } },
      { pkg: 'update', credentials: 'noop', file: 'noop', unit: 'update', restart: true },
    ],
    [
      'pinned version with a build suffix installed',
      { host: host({ cloudflaredVersion: '2026.8.2-standin' }), source: { type: 'apt', version: '2026.8.2' } },
      { pkg: 'noop', credentials: 'noop', file: 'noop', unit: 'noop', restart: false },
    ],
    [
      'credentials lost',
      { host: host({ files: new Map([[CONFIG, host().files.get(CONFIG)!]]) }) },
      { pkg: 'noop', credentials: 'create', file: 'noop', unit: 'update', restart: true },
    ],
    [
      'credentials of another tunnel',
      { host: host({ files: new Map([...host().files, [CREDS, { content: '{"TunnelID":"other"}', mode: 0o600, owner: 'root' }]]) }) },
      { pkg: 'noop', credentials: 'update', file: 'noop', unit: 'update', restart: true },
    ],
    [
      'service stopped',
      { host: host({ unit: { enabled: true, active: false } }) },
      { pkg: 'noop', credentials: 'noop', file: 'noop', unit: 'update', restart: true },
    ],
    [
      'tunnel about to be created',
      { tunnel: { ...existingTunnel, action: 'create', before: undefined } },
      { pkg: 'noop', credentials: 'create', file: 'noop', unit: 'update', restart: true },
    ],
  ];
  for (const [name, over, expected] of table) {
    it(name, () => expect(actions(planHost(input(over)))).toEqual(expected));
  }

  it('never reads or carries the secret of the credentials file', () => {
    const plan = planHost(
      input({
        host: host({
          files: new Map([
            ...host().files,
            [CREDS, { content: '{"TunnelID":"other","TunnelSecret":"c2VjcmV0"}', mode: 0o600, owner: 'root' }],
          ]),
        }),
      }),
    );
    expect(JSON.stringify(plan.credentials)).not.toContain('c2VjcmV0');
    expect(plan.credentials.source).toBe('token');
  });

  // Issue 13 class 8: only TunnelID was compared, so a changed TunnelSecret read as up to date.
  describe('credentials compared by digest', () => {
    const written = JSON.stringify({ TunnelID: TUNNEL, TunnelSecret: 'c2VjcmV0' });
    const byDigest = (content: string): ConnectorState =>
      host({
        files: new Map([[CONFIG, host().files.get(CONFIG)!]]),
        secretFiles: new Map([[CREDS, { sha256: sha256Hex(content), mode: 0o600, owner: 'root', tunnelId: TUNNEL }]]),
      });
    const expected = { tunnelId: TUNNEL, sha256: sha256Hex(written) };

    it('the file the token gives is up to date', () => {
      expect(planHost(input({ host: byDigest(written), expectedCredentials: expected })).credentials.action).toBe('noop');
    });

    it('a changed TunnelSecret (same TunnelID) is an update that restarts, and says nothing of the secret', () => {
      const tampered = JSON.stringify({ TunnelID: TUNNEL, TunnelSecret: 'dGFtcGVyZWQ=' });
      const plan = planHost(input({ host: byDigest(tampered), expectedCredentials: expected }));
      expect(plan.credentials.action).toBe('update');
      expect(plan.credentials.reason).toMatch(/content differs from what the tunnel token gives/);
      expect(plan.unit.restart).toBe(true);
      const text = JSON.stringify(plan);
      for (const s of ['c2VjcmV0', 'dGFtcGVyZWQ=', expected.sha256, sha256Hex(tampered)]) expect(text).not.toContain(s);
    });

    it('a file given by content (fakes, import) is compared by its digest too', () => {
      const tampered = JSON.stringify({ TunnelID: TUNNEL, TunnelSecret: 'dGFtcGVyZWQ=' });
      const h = host({ files: new Map([...host().files, [CREDS, { content: tampered, mode: 0o600, owner: 'root' }]]) });
      expect(planHost(input({ host: h, expectedCredentials: expected })).credentials.action).toBe('update');
    });
  });

  it('says why the unit restarts', () => {
    const plan = planHost(input({ files: [{ path: CONFIG, content: 'config v2\n', mode: 0o644, validate: true }] }));
    expect(plan.unit.reason).toBe('restart: file:cloudflared:/etc/cloudflared/config.yml changed');
  });
});

// Issue 13 class 7: a killed deploy's staging files were never removed.
describe('planStaging', () => {
  it('one delete per stale staging file, addressed on its connector; none when the host is not read', () => {
    const staging = [
      '/etc/cloudflared/.credentials.json.proxflare-tmp.4242',
      '/etc/systemd/system/.cloudflared.service.proxflare-tmp.4242',
    ];
    const changes = planStaging('cloudflared', host({ staging }));
    expect(changes.map((c) => [c.address, c.kind, c.action])).toEqual([
      ['staging:cloudflared:/etc/cloudflared/.credentials.json.proxflare-tmp.4242', 'staging-file', 'delete'],
      ['staging:cloudflared:/etc/systemd/system/.cloudflared.service.proxflare-tmp.4242', 'staging-file', 'delete'],
    ]);
    expect(planStaging('cloudflared', undefined)).toEqual([]);
    expect(planStaging('cloudflared', host())).toEqual([]);
  });
});
