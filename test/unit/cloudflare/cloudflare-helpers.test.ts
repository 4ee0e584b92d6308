import { APIError } from 'cloudflare';
import { describe, expect, it } from 'vitest';
import { dnsChangeSets } from '../../../src/apply/executors/dns.js';
import { httpDetail, toProviderError } from '../../../src/cloudflare/cloudflare-errors.js';
import { batchBody, chunk, toOperations } from '../../../src/cloudflare/dns-operations.js';
import { credentialsFromToken, generateTunnelSecret, renderCredentialsFile } from '../../../src/cloudflare/tunnel-credentials.js';
import { ProviderError } from '../../../src/core/errors.js';
import { Secret } from '../../../src/core/secret.js';
import { ownerComment, planDns, tunnelTarget } from '../../../src/plan/plan-dns.js';
import { planTunnel } from '../../../src/plan/plan-tunnel.js';
import { TUNNEL_ID_PLACEHOLDER } from '../../../src/plan/types.js';
import facts from '../../fixtures/cloudflare/facts.json' with { type: 'json' };
import { ADOPT_ALL } from '../../../src/plan/ownership.js';

const TID = '6ff42ae2-765d-4adf-8112-31c55c1551ef';
const ACCOUNT = '0123456789abcdef0123456789abcdef';

describe('planTunnel', () => {
  it('creates when absent, with the placeholder id', () => {
    expect(planTunnel('homelab', ACCOUNT, undefined)).toEqual({
      kind: 'tunnel',
      address: 'tunnel/homelab',
      action: 'create',
      reason: 'no tunnel with this name in the account',
      before: undefined,
      after: { id: TUNNEL_ID_PLACEHOLDER, name: 'homelab' },
      accountId: ACCOUNT,
    });
  });
  it('is a noop when it exists', () => {
    const c = planTunnel('homelab', ACCOUNT, { id: TID, name: 'homelab', status: 'healthy', createdAt: '' });
    expect([c.action, c.after.id, c.reason]).toEqual(['noop', TID, 'exists (healthy)']);
  });
});

describe('tunnel credentials', () => {
  const secret = Buffer.alloc(32, 9).toString('base64');
  const token = (o: object) => new Secret(Buffer.from(JSON.stringify(o)).toString('base64'));

  it('decodes the token format {a,s,t} into credentials', () => {
    const example = facts.tunnelToken;
    const c = credentialsFromToken(new Secret(example.token), example.decoded.t, 'lab');
    expect(c.accountTag).toBe(example.decoded.a);
    expect(c.tunnelSecret.reveal()).toBe(example.decoded.s);
    expect(String(c.tunnelSecret)).toBe('(sensitive)');
  });

  it('refuses tokens for another tunnel or without a 32-byte secret, without echoing the token', () => {
    const bad = [
      token({ a: ACCOUNT, s: secret, t: '11111111-765d-4adf-8112-31c55c1551ef' }),
      token({ a: ACCOUNT, s: Buffer.alloc(16).toString('base64'), t: TID }),
      token({ s: secret, t: TID }),
      new Secret('%%%not-base64%%%'),
    ];
    for (const t of bad) {
      const err = (() => {
        try {
          credentialsFromToken(t, TID, 'lab');
        } catch (e) {
          return e as ProviderError;
        }
        throw new Error('accepted');
      })();
      expect(err).toBeInstanceOf(ProviderError);
      expect(err.message).toContain('recover credentials of tunnel lab');
      expect(err.message).not.toContain(t.reveal());
      expect(err.message).not.toContain(secret);
    }
  });

  it('renders the credentials file cloudflared reads', () => {
    const file = renderCredentialsFile({ accountTag: ACCOUNT, tunnelId: TID, tunnelSecret: new Secret(secret) });
    expect(String(file)).toBe('(sensitive)');
    expect(JSON.parse(file.reveal())).toEqual({ AccountTag: ACCOUNT, TunnelSecret: secret, TunnelID: TID, Endpoint: '' });
    expect(Object.keys(JSON.parse(file.reveal()))).toEqual(facts.credentialsFileKeys);
  });

  it('generates 32 random bytes', () => {
    const a = generateTunnelSecret();
    expect(Buffer.from(a.reveal(), 'base64')).toHaveLength(32);
    expect(a.equals(generateTunnelSecret())).toBe(false);
  });
});

describe('DNS operations', () => {
  const record = (name: string) => ({ name, type: 'CNAME' as const, content: 'x', proxied: true as const, ttl: 1 as const, comment: 'c' });

  it('orders deletes, puts, posts and chunks at the Free batch limit', () => {
    const ops = toOperations({
      zoneId: 'z',
      zoneName: 'example.com',
      creates: [record('c')],
      updates: [{ id: 'u1', record: record('u') }],
      deletes: [{ id: 'd1', name: 'd' }],
    });
    expect(ops.map((o) => o.kind)).toEqual(['delete', 'put', 'post']);
    expect(batchBody(ops)).toEqual({
      deletes: [{ id: 'd1' }],
      puts: [{ id: 'u1', type: 'CNAME', name: 'u', content: 'x', proxied: true, ttl: 1, comment: 'c' }],
      posts: [{ type: 'CNAME', name: 'c', content: 'x', proxied: true, ttl: 1, comment: 'c' }],
    });
    expect(batchBody([ops[2]!])).toEqual({ posts: [expect.objectContaining({ name: 'c' })] });
    expect(
      chunk(
        Array.from({ length: 401 }, (_, i) => i),
        facts.limits.batchOperationsFree,
      ).map((c) => c.length),
    ).toEqual([200, 200, 1]);
  });

  it('groups each apply-order row of DNS changes per zone and resolves the placeholder', () => {
    const r = planDns({
      hostnames: ['a.example.com', 'new.example.com'],
      zones: [
        {
          zoneId: 'z1',
          zoneName: 'example.com',
          records: [
            {
              id: 'f1',
              zoneId: 'z1',
              zoneName: 'example.com',
              name: 'a.example.com',
              type: 'A',
              content: '192.0.2.1',
              proxied: false,
              ttl: 300,
              comment: null,
            },
            {
              id: 'f2',
              zoneId: 'z1',
              zoneName: 'example.com',
              name: 'a.example.com',
              type: 'AAAA',
              content: '::1',
              proxied: false,
              ttl: 300,
              comment: null,
            },
            {
              id: 'o1',
              zoneId: 'z1',
              zoneName: 'example.com',
              name: 'gone.example.com',
              type: 'CNAME',
              content: 'x',
              proxied: true,
              ttl: 1,
              comment: ownerComment('lab'),
            },
          ],
        },
      ],
      tunnelId: TUNNEL_ID_PLACEHOLDER,
      tunnelName: 'lab',
      adopt: ADOPT_ALL,
      maxDeletes: 10,
      allowMassDelete: false,
    });
    const resolve = (text: string) => text.split(TUNNEL_ID_PLACEHOLDER).join(TID);
    const deletes = dnsChangeSets(
      r.changes.filter((c) => c.action === 'delete'),
      resolve,
    );
    expect(deletes.map((z) => z.set)).toEqual([
      {
        zoneId: 'z1',
        zoneName: 'example.com',
        deletes: [
          { id: 'f2', name: 'a.example.com' },
          { id: 'o1', name: 'gone.example.com' },
        ],
        updates: [],
        creates: [],
      },
    ]);
    const upserts = dnsChangeSets(
      r.changes.filter((c) => c.action === 'create' || c.action === 'update'),
      resolve,
    );
    expect(upserts.map((z) => z.set)).toEqual([
      {
        zoneId: 'z1',
        zoneName: 'example.com',
        deletes: [],
        updates: [{ id: 'f1', record: expect.objectContaining({ content: tunnelTarget(TID) }) }],
        creates: [expect.objectContaining({ name: 'new.example.com', content: tunnelTarget(TID) })],
      },
    ]);
    expect(upserts[0]!.changes.map((c) => c.address)).toEqual(['dns/a.example.com', 'dns/new.example.com']);
  });
});

describe('Cloudflare error mapping', () => {
  const ctx = { operation: 'create tunnel homelab', permission: 'tunnel', scope: `account ${ACCOUNT}` } as const;
  const apiError = (status: number, errors: unknown[]) =>
    APIError.generate(status, { success: false, errors, messages: [], result: null }, undefined, new Headers());

  it('a 400 with 6003/6111 says the token is malformed', () => {
    const err = toProviderError(
      apiError(400, [
        {
          code: 6003,
          message: 'Invalid request headers',
          error_chain: [{ code: 6111, message: 'Invalid format for Authorization header' }],
        },
      ]),
      ctx,
    );
    expect(err.detail).toBe(
      'the API token is malformed (copy it again) (HTTP 400: 6003 Invalid request headers (6111 Invalid format for Authorization header))',
    );
    expect(err.hint).toContain('copy the token again');
  });

  it('an empty error list leaves the status alone instead of "(HTTP 409: )"', () => {
    expect(toProviderError(apiError(409, []), ctx).detail).toBe('the Cloudflare API refused the request (HTTP 409)');
    expect(httpDetail(409, [])).toBe('(HTTP 409)');
    expect(httpDetail(409, [{ code: facts.errors.tunnelNameConflict, message: 'exists' }])).toBe('(HTTP 409: 1013 exists)');
  });
});
