import { describe, expect, it } from 'vitest';
import { renderPlan } from '../../../src/plan/render-plan.js';
import { renderPlanJson } from '../../../src/plan/render-plan-json.js';
import type { Plan } from '../../../src/plan/types.js';
import { TUNNEL_ID_PLACEHOLDER } from '../../../src/plan/types.js';

const TUNNEL = '6f1c6b0e-1111-4a2b-9c3d-000000000001';

const plan: Plan = {
  changes: [
    {
      kind: 'file',
      connector: 'cloudflared',
      address: 'file:cloudflared:/etc/cloudflared/config.yml',
      action: 'update',
      reason: 'content differs from the inventory',
      path: '/etc/cloudflared/config.yml',
      mode: 0o644,
      before: {
        content: 'ingress:\n  - hostname: a.example.com\n    service: http://10.0.0.5:80\n  - service: http_status:404\n',
        mode: 0o644,
      },
      after: {
        content: 'ingress:\n  - hostname: a.example.com\n    service: http://10.0.0.5:8080\n  - service: http_status:404\n',
        mode: 0o644,
      },
      validate: true,
    },
    {
      kind: 'credentials',
      connector: 'cloudflared',
      address: 'file:cloudflared:/etc/cloudflared/credentials.json',
      action: 'create',
      reason: 'missing on the connector; recovered from the tunnel token',
      path: '/etc/cloudflared/credentials.json',
      source: 'token',
      accountId: 'acc',
      before: undefined,
      after: { tunnelId: TUNNEL },
    },
    {
      kind: 'dns',
      address: 'dns/old.example.com',
      action: 'delete',
      reason: 'not in inventory',
      zoneId: 'z',
      zoneName: 'example.com',
      before: {
        id: 'r1',
        zoneId: 'z',
        zoneName: 'example.com',
        name: 'old.example.com',
        type: 'CNAME',
        content: `${TUNNEL}.cfargotunnel.com`,
        proxied: true,
        ttl: 1,
        comment: 'managed by proxflare: tunnel homelab',
      },
      after: undefined,
    },
    {
      kind: 'dns',
      address: 'dns/new.example.com',
      action: 'create',
      reason: 'in inventory, no record yet',
      zoneId: 'z',
      zoneName: 'example.com',
      before: undefined,
      after: {
        name: 'new.example.com',
        type: 'CNAME',
        content: `${TUNNEL_ID_PLACEHOLDER}.cfargotunnel.com`,
        proxied: true,
        ttl: 1,
        comment: 'managed by proxflare: tunnel homelab',
      },
    },
    {
      kind: 'unit',
      connector: 'cloudflared',
      address: 'unit:cloudflared:cloudflared.service',
      action: 'noop',
      reason: 'enabled and active',
      unit: 'cloudflared.service',
      before: { enabled: true, active: true },
      after: { enabled: true, active: true },
      restart: false,
    },
  ],
  conflicts: [
    {
      address: 'dns/www.example.com',
      message: 'a foreign A record (198.51.100.7) holds this hostname',
      hint: 'delete it, or re-run with --adopt',
    },
  ],
  warnings: ['two levels below the zone'],
  origins: [{ hostname: 'a.example.com', service: 'http://10.0.0.5:8080', guest: 'web', ipSource: 'agent' }],
};

describe('renderPlan', () => {
  it('renders Terraform-style blocks, a unified diff, sensitive credentials and the summary', () => {
    expect(renderPlan(plan, { color: false })).toMatchInlineSnapshot(`
      "proxflare will perform the following actions:

        # file:cloudflared:/etc/cloudflared/config.yml will be updated in place (content differs from the inventory)
        ~ file:cloudflared:/etc/cloudflared/config.yml
            --- /etc/cloudflared/config.yml (current)
            +++ /etc/cloudflared/config.yml (desired)
            @@ -1,4 +1,4 @@
             ingress:
               - hostname: a.example.com
            -    service: http://10.0.0.5:80
            +    service: http://10.0.0.5:8080
               - service: http_status:404

        # file:cloudflared:/etc/cloudflared/credentials.json will be created (missing on the connector; recovered from the tunnel token)
        + file:cloudflared:/etc/cloudflared/credentials.json
            tunnel: 6f1c6b0e-1111-4a2b-9c3d-000000000001
            content: (sensitive)
            mode: 0600

        # dns/old.example.com will be destroyed (not in inventory)
        - dns/old.example.com
            CNAME 6f1c6b0e-1111-4a2b-9c3d-000000000001.cfargotunnel.com (proxied)
            zone: example.com

        # dns/new.example.com will be created (in inventory, no record yet)
        + dns/new.example.com
            CNAME (tunnel id known after apply).cfargotunnel.com (proxied)
            zone: example.com

      Routes (ingress order):
        a.example.com → http://10.0.0.5:8080  (web, address from agent)

      Conflict: dns/www.example.com: a foreign A record (198.51.100.7) holds this hostname
        fix: delete it, or re-run with --adopt
      Warning: two levels below the zone

      Plan: 2 to add, 1 to change, 1 to destroy.
      "
    `);
  });

  it('says so when nothing changes, and lists unchanged resources only on request', () => {
    const quiet: Plan = { ...plan, changes: [plan.changes[4]!], conflicts: [], warnings: [] };
    expect(renderPlan(quiet, { color: false })).toContain('No changes. The homelab matches the inventory.');
    expect(renderPlan(quiet, { color: false })).not.toContain('unit:cloudflared:cloudflared.service');
    expect(renderPlan(quiet, { color: false, showNoop: true })).toContain('# unit:cloudflared:cloudflared.service is up to date');
  });

  it('JSON carries full file text and before/after, never a secret', () => {
    const json = renderPlanJson(plan) as {
      changes: { address: string; after?: { content?: string }; sensitive?: boolean }[];
      summary: unknown;
    };
    expect(json.summary).toEqual({ add: 2, change: 1, destroy: 1 });
    expect(json.changes[0]!.after!.content).toContain('service: http://10.0.0.5:8080');
    expect(json.changes[1]).toMatchObject({ address: 'file:cloudflared:/etc/cloudflared/credentials.json', sensitive: true });
  });
});
