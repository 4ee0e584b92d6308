import { describe, expect, it } from 'vitest';
import { CONFIG_SEARCH, configPathFor, execStartOf, parseExecStart, tokenTunnelId } from '../../../src/import/connector-setup.js';
import { SERVICE_INSTALL_UNIT } from '../../../src/demo/pre-existing.js';

describe('reading an existing cloudflared unit', () => {
  it('a token-installed unit (cloudflared service install, 2026.7.2+) runs from --token-file', () => {
    const inv = parseExecStart(execStartOf(SERVICE_INSTALL_UNIT)!);
    expect(inv).toEqual({ binary: '/usr/bin/cloudflared', inlineToken: false, tokenFile: '/etc/cloudflared/token' });
    expect(configPathFor(inv, () => false)).toBeUndefined();
  });

  it('an older service install carries the token on the ExecStart line; its value is not kept', () => {
    const inv = parseExecStart('/usr/bin/cloudflared --no-autoupdate tunnel run --token eyJhIjoi');
    expect(inv.inlineToken).toBe(true);
    expect(JSON.stringify(inv)).not.toContain('eyJhIjoi');
  });

  it('--config (both spellings) and a named tunnel', () => {
    expect(parseExecStart('/usr/local/bin/cloudflared --config /usr/local/etc/cloudflared/config.yml tunnel run home')).toMatchObject({
      configPath: '/usr/local/etc/cloudflared/config.yml',
      tunnelRef: 'home',
    });
    expect(parseExecStart('cloudflared tunnel --config=/etc/cf.yml run').configPath).toBe('/etc/cf.yml');
  });

  it('without --config, cloudflared takes the first config of its search list', () => {
    const present = new Set(['/etc/cloudflared/config.yaml', '/usr/local/etc/cloudflared/config.yml']);
    expect(configPathFor(parseExecStart('/usr/bin/cloudflared tunnel run'), (p) => present.has(p))).toBe('/etc/cloudflared/config.yaml');
    expect(CONFIG_SEARCH.slice(0, 2)).toEqual(['/root/.cloudflared/config.yml', '/root/.cloudflared/config.yaml']);
  });

  it('the last ExecStart wins; prefixes such as - are dropped', () => {
    expect(execStartOf('[Service]\nExecStart=/bin/a\nExecStart=-/usr/bin/cloudflared tunnel run\n')).toBe(
      '/usr/bin/cloudflared tunnel run',
    );
  });

  it('a token names its tunnel', () => {
    const token = Buffer.from(JSON.stringify({ a: 'acc', s: 'c2VjcmV0', t: '6f1c6b0e-1111-4a2b-9c3d-000000000001' })).toString('base64');
    expect(tokenTunnelId(token)).toBe('6f1c6b0e-1111-4a2b-9c3d-000000000001');
    expect(tokenTunnelId('not a token')).toBeUndefined();
  });
});
