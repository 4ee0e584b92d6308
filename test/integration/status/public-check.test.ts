import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startCloudflareSim } from '../../../src/sim/cloudflare/start-cloudflare-sim.js';
import { checkPublicRoutes, loginRedirect, PUBLIC_EDGE_CA_ENV, PUBLIC_EDGE_ENV, publicTargets } from '../../../src/status/public-check.js';

describe('status --public', () => {
  it('checks each hostname once; protected only when Access covers it now', () => {
    expect(
      publicTargets([
        { hostname: 'a.example.com', exposure: 'PUBLIC' },
        { hostname: 'a.example.com', exposure: 'PROTECTED (admins)' },
        { hostname: 'b.example.com', exposure: 'PROTECTED (admins) (pending)' },
        { hostname: '*.example.com', exposure: 'PUBLIC' },
        { hostname: '', exposure: '-' },
      ]),
    ).toEqual([
      { hostname: 'a.example.com', protected: true },
      { hostname: 'b.example.com', protected: false },
    ]);
  });

  it("accepts only the team domain's login page as Access's redirect", () => {
    expect(loginRedirect('https://homelab.cloudflareaccess.com/cdn-cgi/access/login/a.example.com?kid=1', 'a.example.com')).toBe(true);
    expect(loginRedirect('https://homelab.cloudflareaccess.com.attacker.invalid/cdn-cgi/access/login/a.example.com', 'a.example.com')).toBe(
      false,
    );
    expect(loginRedirect('http://homelab.cloudflareaccess.com/cdn-cgi/access/login/a.example.com', 'a.example.com')).toBe(false);
    expect(loginRedirect('https://homelab.cloudflareaccess.com/cdn-cgi/access/login/b.example.com', 'a.example.com')).toBe(false);
    expect(loginRedirect(undefined, 'a.example.com')).toBe(false);
  });

  it('sends every request to the edge override with the Host header kept, and judges the answers', async () => {
    const server = createServer((req, res) => {
      if (req.headers.host === 'open.example.com') res.end('hi');
      else if (req.headers.host === 'gated.example.com')
        res.writeHead(302, { location: 'https://t.cloudflareaccess.com/cdn-cgi/access/login/gated.example.com' }).end();
      else if (req.headers.host === 'leaky.example.com') res.end('no login asked');
      else res.writeHead(530).end('<span>Error</span> <span>1033</span>');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => server.close(() => r())));
    const { port } = server.address() as AddressInfo;
    const checks = await checkPublicRoutes(
      [
        { hostname: 'open.example.com', protected: false },
        { hostname: 'gated.example.com', protected: true },
        { hostname: 'leaky.example.com', protected: true },
        { hostname: 'down.example.com', protected: false },
      ],
      { [PUBLIC_EDGE_ENV]: `http://127.0.0.1:${port}` },
    );
    expect(checks.map((c) => [c.hostname, c.status, c.ok])).toEqual([
      ['open.example.com', 200, true],
      ['gated.example.com', 302, true],
      ['leaky.example.com', 200, false],
      ['down.example.com', 530, false],
    ]);
    expect(checks[3]!.detail).toBe('Cloudflare error 1033 (no healthy cloudflared connector)');
  });
});

describe('status --public through the simulated edge over TLS', () => {
  it('verifies the zone certificate for each hostname; one more than a level below its zone gets no certificate', async () => {
    const cf = await startCloudflareSim({ zones: [{ name: 'example.com' }] });
    onTestFinished(() => cf.close());
    const tunnel = cf.state.seedTunnel(cf.accountId, 'homelab');
    for (const name of ['app.example.com', 'deep.lab.example.com'])
      cf.state.seedRecord('example.com', { name, type: 'CNAME', content: `${tunnel.id}.cfargotunnel.com`, proxied: true });
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-edge-ca-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'ca.pem'), cf.edge.caPem);
    const env = { [PUBLIC_EDGE_ENV]: cf.edge.httpsUrl, [PUBLIC_EDGE_CA_ENV]: join(dir, 'ca.pem') };

    const [app, deep] = await checkPublicRoutes(
      [
        { hostname: 'app.example.com', protected: false },
        { hostname: 'deep.lab.example.com', protected: false },
      ],
      env,
    );
    // The TLS handshake succeeded (the certificate covers it): no connector runs, so the edge's 1033.
    expect([app!.status, app!.detail]).toEqual([530, 'Cloudflare error 1033 (no healthy cloudflared connector)']);
    expect(deep!.status).toBeUndefined();
    expect(deep!.ok).toBe(false);
    expect(deep!.detail).toMatch(
      /^no answer: the TLS handshake failed: the edge has no certificate for deep\.lab\.example\.com\. Cloudflare's free Universal SSL certificate covers a zone and one level below it only/,
    );

    // Without the edge's CA the certificate is not trusted: the check says so rather than skipping verification.
    const [untrusted] = await checkPublicRoutes([{ hostname: 'app.example.com', protected: false }], {
      [PUBLIC_EDGE_ENV]: cf.edge.httpsUrl,
    });
    expect(untrusted!.detail).toMatch(/^no answer: the certificate the edge served for app\.example\.com is not valid \(/);
  });
});
