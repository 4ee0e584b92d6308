import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toApp, toPolicy, type SdkApp, type SdkPolicy } from '../../../src/cloudflare/access-adapter.js';
import type { AccessState } from '../../../src/ports/access.js';
import { durationNs } from '../../../src/plan/access-normalise.js';
import { exposureLine, planExposure } from '../../../src/plan/plan-exposure.js';
import { planAccess } from '../../../src/plan/plan-access.js';
import { MINIMAL, load } from '../inventory/helpers.js';

const fixture = JSON.parse(readFileSync(new URL('../../fixtures/cloudflare/access-responses.json', import.meta.url), 'utf8')) as {
  app: SdkApp;
  policies: SdkPolicy[];
};

const inventoryYaml = (access: string, extra = '') => `${MINIMAL}access:
  policies:
    admins:
      emails: [me@example.com]
      emailDomains: [example.org]
    family:
      existing: Family
guests:
  - name: pve
    type: vm
    vmid: 100
    ip: 192.168.1.2
    services:
      - hostname: pve.example.com
        port: 8006
        scheme: https
        access: ${access}
${extra}`;

function state(overrides: Partial<AccessState> = {}): AccessState {
  return {
    organization: { authDomain: 'homelab.cloudflareaccess.com', name: 'homelab' },
    apps: [toApp(fixture.app)],
    policies: fixture.policies.map(toPolicy),
    serviceTokens: [],
    identityProviders: [{ id: 'idp-otp', name: 'One-time PIN', type: 'onetimepin' }],
    tags: ['proxflare'],
    ...overrides,
  };
}

const actions = (p: ReturnType<typeof planAccess>) => [...p.tokens, ...p.policies, ...p.apps].map((c) => `${c.action} ${c.address}`);

describe('plan-access: normalised comparison', () => {
  it('an app and policy exactly as the API echoes them (defaults, case, set order, precedence) plan nothing', async () => {
    const inventory = await load(inventoryYaml('[admins, family]'));
    const plan = planAccess({ inventory, state: state(), hostnames: ['pve.example.com'], adopt: false });
    expect(plan.errors).toEqual([]);
    expect(plan.conflicts).toEqual([]);
    expect(actions(plan)).toEqual(['noop access-policy/admins', 'noop access-app/pve.example.com']);
  });

  it('precedence is semantics: swapping the policies is an update that sends the full body', async () => {
    const inventory = await load(inventoryYaml('[family, admins]'));
    const plan = planAccess({ inventory, state: state(), hostnames: ['pve.example.com'], adopt: false });
    const app = plan.apps[0]!;
    expect(app.action).toBe('update');
    expect(app.reason).toBe('policies admins, family → family, admins');
    expect(app.body).toMatchObject({
      name: 'proxflare:homelab:pve.example.com',
      type: 'self_hosted',
      domain: 'pve.example.com',
      destinations: [{ type: 'public', uri: 'pve.example.com', overrides: [] }],
      policies: ['8c3f3d4e-0b7a-4c1e-9f5e-1a2b3c4d5e6f', '5d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a'],
      allowed_idps: [],
      session_duration: '24h',
      tags: ['proxflare', 'zz-dashboard'],
    });
  });

  it('a session duration written differently but equal is no change; a different one is', async () => {
    expect(durationNs('24h')).toBe(durationNs('1440m'));
    expect(durationNs(undefined)).toBe(durationNs('24h'));
    const same = await load(inventoryYaml('{ policies: [admins, family], sessionDuration: 1440m }'));
    expect(actions(planAccess({ inventory: same, state: state(), hostnames: ['pve.example.com'], adopt: false }))).toContain(
      'noop access-app/pve.example.com',
    );
    const longer = await load(inventoryYaml('{ policies: [admins, family], sessionDuration: 48h, publicPaths: ["/api/hook/*"] }'));
    const plan = planAccess({ inventory: longer, state: state(), hostnames: ['pve.example.com'], adopt: false });
    expect(plan.apps[0]!.reason).toBe('session 24h → 48h; public paths');
    expect(plan.apps[0]!.body!.destinations).toEqual([
      { type: 'public', uri: 'pve.example.com', overrides: [{ behavior: 'public', path_pattern: '/api/hook/*' }] },
    ]);
  });

  it('a policy whose rules changed is updated; the existing: policy is never written', async () => {
    const inventory = await load(inventoryYaml('[admins, family]').replace('emailDomains: [example.org]', 'emailDomains: [example.net]'));
    const plan = planAccess({ inventory, state: state(), hostnames: ['pve.example.com'], adopt: false });
    expect(actions(plan)).toEqual(['update access-policy/admins', 'noop access-app/pve.example.com']);
    expect(plan.policies[0]!.body).toEqual({
      name: 'proxflare:homelab:admins',
      decision: 'allow',
      include: [{ email: { email: 'me@example.com' } }, { email_domain: { domain: 'example.net' } }],
      exclude: [],
      require: [],
    });
    expect(plan.policies.some((c) => c.policy === 'family')).toBe(false);
  });
});

describe('plan-access: ownership and fail-closed resolution', () => {
  it('an app on the hostname without our marks is a conflict; --adopt takes it over', async () => {
    const foreign = toApp({ ...fixture.app, name: 'Proxmox (dashboard)', tags: [] });
    const inventory = await load(inventoryYaml('admins'));
    const plan = planAccess({ inventory, state: state({ apps: [foreign] }), hostnames: ['pve.example.com'], adopt: false });
    expect(plan.conflicts[0]).toMatchObject({ address: 'access-app/pve.example.com' });
    expect(plan.conflicts[0]!.message).toContain('"Proxmox (dashboard)"');
    expect(plan.apps).toEqual([]);
    const adopted = planAccess({ inventory, state: state({ apps: [foreign] }), hostnames: ['pve.example.com'], adopt: true });
    expect(adopted.apps[0]).toMatchObject({
      action: 'update',
      id: foreign.id,
      reason: 'adopted (--adopt): marked as ours, policies from the inventory',
    });
    expect(adopted.apps[0]!.body!.tags).toEqual(['proxflare']);
  });

  it('an existing: name matching 0 or 2 policies, or an unknown identity provider, is an error located in the inventory', async () => {
    const inventory = await load(inventoryYaml('family'));
    const none = planAccess({ inventory, state: state({ policies: [] }), hostnames: ['pve.example.com'], adopt: false });
    expect(none.errors[0]).toMatch(
      /inventory\.yaml:\d+:\d+ access\.policies\.family\.existing: no reusable Access policy is named "Family" \(the account has none\)/,
    );
    expect(none.errors[1]).toContain('pve.example.com: its access does not resolve');
    expect(none.apps).toEqual([]);
    const twice = planAccess({
      inventory,
      state: state({ policies: [...fixture.policies.map(toPolicy), { ...toPolicy(fixture.policies[1]!), id: 'other' }] }),
      hostnames: ['pve.example.com'],
      adopt: false,
    });
    expect(twice.errors[0]).toContain('2 reusable Access policies are named "Family"');

    const withIdp = await load(
      inventoryYaml('admins').replace('emailDomains: [example.org]', 'emailDomains: [example.org]\n      idps: [GitHub]'),
    );
    const idp = planAccess({ inventory: withIdp, state: state(), hostnames: ['pve.example.com'], adopt: false });
    expect(idp.errors[0]).toContain('access.policies.admins.idps[0]: no identity provider is named "GitHub" (configured: One-time PIN)');
  });

  it('our app for a hostname whose access was removed is deleted; a foreign app is never touched', async () => {
    const inventory = await load(inventoryYaml('admins').replace('        access: admins\n', ''));
    const foreign = toApp({
      ...fixture.app,
      id: 'foreign',
      name: 'Dashboard app',
      domain: 'other.example.com',
      destinations: [],
      tags: [],
    });
    const plan = planAccess({
      inventory,
      state: state({ apps: [toApp(fixture.app), foreign] }),
      hostnames: ['pve.example.com'],
      adopt: false,
    });
    expect(actions(plan)).toEqual(['delete access-policy/admins', 'delete access-app/pve.example.com']);
    expect(plan.apps[0]!.reason).toBe('access removed from the inventory: the hostname becomes PUBLIC');
  });

  it('the account has no Zero Trust organization: one error with the manual step', async () => {
    const inventory = await load(inventoryYaml('admins'));
    const plan = planAccess({ inventory, state: state({ organization: undefined }), hostnames: ['pve.example.com'], adopt: false });
    expect(plan.errors).toHaveLength(1);
    expect(plan.errors[0]).toContain('pick a team name and the Free plan');
  });
});

describe('exposure', () => {
  it('says what becomes public, and warns for an admin UI published without Access', async () => {
    const inventory = await load(inventoryYaml('admins').replace('        access: admins\n', ''));
    const zones = [
      {
        zoneId: 'z',
        zoneName: 'example.com',
        records: [
          {
            id: 'r',
            zoneId: 'z',
            zoneName: 'example.com',
            name: 'pve.example.com',
            type: 'CNAME',
            content: 'x.cfargotunnel.com',
            proxied: true,
            ttl: 1,
            comment: 'managed by proxflare: tunnel homelab',
          },
        ],
      },
    ];
    const { exposure, warnings } = planExposure({ inventory, zones, access: state(), hostnames: ['pve.example.com'] });
    expect(exposure.map((e) => exposureLine(e))).toEqual([
      { text: 'pve.example.com PROTECTED (admins, family) → PUBLIC', change: 'becomes PUBLIC' },
    ]);
    expect(warnings[0]).toContain('pve.example.com is published PUBLIC but looks like an admin UI (the Proxmox VE UI port)');
  });
});
