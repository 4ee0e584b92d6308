import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { checkPublicRoutes, loginRedirect, PUBLIC_EDGE_ENV, publicTargets } from '../../../src/status/public-check.js';

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
