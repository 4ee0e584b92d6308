import { describe, expect, it } from 'vitest';
import { MINIMAL, load, loadError } from './helpers.js';

const ACCESS = `access:
  teamName: MyTeam
  policies:
    admins:
      emails: [Me@Example.com, ops@example.com]
      emailDomains: [example.org]
    robots:
      serviceTokens: [ci]
    family:
      existing: "Family"
  serviceTokens:
    - ci
    - { name: backup, secretFile: ./secrets/backup.json, duration: 720h }
`;

const guest = (serviceLines: string) => `guests:
  - name: pve-ui
    type: vm
    vmid: 100
    ip: 192.168.1.2
    services:
      - hostname: pve.example.com
        port: 8006
        scheme: https
${serviceLines}`;

describe('inventory: access', () => {
  it('normalises policies, service tokens and the three per-service forms', async () => {
    const inv = await load(
      MINIMAL +
        ACCESS +
        guest(`        access: admins
      - hostname: a.example.com
        port: 80
        access: [admins, family]
      - hostname: b.example.com
        port: 81
        access: { policies: [robots], sessionDuration: 2h45m, publicPaths: ["/hook/*", "/api/*/status"] }
`),
    );
    expect(inv.access?.teamName).toBe('myteam');
    expect(inv.access?.policies.get('admins')).toMatchObject({
      kind: 'owned',
      emails: ['me@example.com', 'ops@example.com'],
      emailDomains: ['example.org'],
    });
    expect(inv.access?.policies.get('family')).toMatchObject({ kind: 'existing', existing: 'Family' });
    expect(
      inv.access?.serviceTokens.map((t) => [
        t.name,
        t.secretFile.endsWith(t.name === 'ci' ? '/ci.service-token.json' : '/secrets/backup.json'),
        t.duration,
      ]),
    ).toEqual([
      ['ci', true, undefined],
      ['backup', true, '720h'],
    ]);
    const services = inv.guests[0]!.services;
    expect(services.map((s) => s.access?.policies)).toEqual([['admins'], ['admins', 'family'], ['robots']]);
    expect(services[2]!.access).toMatchObject({ sessionDuration: '2h45m', publicPaths: ['/api/*/status', '/hook/*'] });
    expect(inv.warnings.join('\n')).not.toMatch(/not used/);
  });

  it('an inventory without access: has none (no Access API is ever called for it)', async () => {
    const inv = await load(MINIMAL + guest(''));
    expect(inv.access).toBeUndefined();
    expect(inv.guests[0]!.services[0]!.access).toBeUndefined();
  });

  it('locates every access mistake with a hint', async () => {
    const yaml =
      MINIMAL +
      `access:
  policies:
    admins:
      emails: [me@example.com]
      serviceTokens: [ci]
    nobody: {}
    fam:
      existing: Family
      emails: [x@example.com]
  serviceTokens: [ci, ci]
` +
      guest(`        access: admnis
      - hostname: ssh.example.com
        scheme: ssh
        port: 22
        access: { policies: [fam], publicPaths: ["api/x", "/a/**"] }
      - hostname: c.example.com
        port: 80
        access: admins
        originRequest: { access: { required: true } }
`);
    const err = await loadError(yaml);
    const text = err.issues.map((i) => `${i.line} ${i.field}: ${i.message} (${i.hint ?? ''})`).join('\n');
    expect(text).toContain('guests[0].services[0].access: policy "admnis" is not declared in access.policies (did you mean "admins"?)');
    expect(text).toContain('access.policies.admins.serviceTokens: cannot be mixed with emails/emailDomains');
    expect(text).toContain('access.policies.nobody: allows nobody');
    expect(text).toContain('access.policies.fam.emails: cannot be combined with `existing:`');
    expect(text).toContain('access.serviceTokens[1]: service token "ci" is declared twice');
    expect(text).toContain('guests[0].services[1].access.publicPaths[0]: "api/x" must start with /');
    expect(text).toContain('guests[0].services[1].access.publicPaths[1]: "/a/**" has more than one *');
    expect(text).toContain('guests[0].services[2].access: cannot be combined with originRequest.access');
    // Located at the line of the typo.
    const typo = err.issues.find((i) => i.field === 'guests[0].services[0].access')!;
    expect(yaml.split('\n')[typo.line - 1]).toContain('access: admnis');
  });

  it('access on a service without an access: section, and an undeclared token, are errors', async () => {
    const err = await loadError(MINIMAL + guest('        access: admins\n'));
    expect(err.message).toContain('uses Cloudflare Access but the inventory has no top-level `access:` section');
    const err2 = await loadError(MINIMAL + 'access:\n  policies:\n    bots: { serviceTokens: [ci] }\n' + guest('        access: bots\n'));
    expect(err2.message).toContain('access.policies.bots.serviceTokens[0]: service token "ci" is not declared in access.serviceTokens');
  });

  it('warns how clients reach an ssh route behind Access', async () => {
    const inv = await load(
      MINIMAL +
        'access:\n  policies:\n    admins: { emails: [me@example.com] }\n' +
        guest(`        access: admins
      - hostname: ssh.example.com
        scheme: ssh
        port: 22
        access: admins
`),
    );
    expect(inv.warnings.join('\n')).toContain('cloudflared access ssh --hostname ssh.example.com');
  });

  it('one hostname is one Access application: its routes must agree', async () => {
    const err = await loadError(
      MINIMAL +
        'access:\n  policies:\n    admins: { emails: [me@example.com] }\n' +
        guest(`        access: admins
      - hostname: pve.example.com
        path: ^/api/
        port: 8007
`),
    );
    expect(err.message).toContain('pve.example.com is protected by guests[0].services[0].access but this route has no access');
  });
});
