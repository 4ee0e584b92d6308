import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InternalError, UserError } from '../../../src/core/errors.js';
import { matchIngressRule, parseIngressConfig, validateIngressConfig } from '../../../src/ingress/validate-ingress.js';
import type { IngressRule } from '../../../src/render/ingress-rules.js';
import { createRenderer, MANAGED_HEADER, systemdArg } from '../../../src/render/templates.js';
import type { ConfigInput } from '../../../src/render/templates.js';

const TUNNEL = '6ff42ae2-765d-4adf-8112-31c55c1551ef';
const CREDS = `/etc/cloudflared/${TUNNEL}.json`;

const mixedRules: IngressRule[] = [
  { hostname: '*.example.com', service: 'http://192.168.1.99:80' },
  { hostname: 'media.example.com', service: 'http://192.168.1.50:8096' },
  {
    hostname: 'pve.example.com',
    service: 'https://192.168.1.10:8006',
    originRequest: { noTLSVerify: true, connectTimeout: '10s', access: { required: true, teamName: 'home', audTag: ['aud1'] } },
  },
  { hostname: 'media.example.com', path: '^/api/.*', service: 'http://[fd00::5]:8080' },
  { hostname: '*.apps.example.com', service: 'unix:/run/app.sock' },
  { hostname: 'ssh.example.com', service: 'ssh://192.168.1.10:22' },
  { hostname: 'teapot.example.com', service: 'http_status:418' },
];

const input = (rules: IngressRule[], extra?: ConfigInput['extra']): ConfigInput => ({
  tunnelId: TUNNEL,
  credentialsFile: CREDS,
  rules,
  ...(extra ? { extra } : {}),
});

const tempDirs: string[] = [];
function templatesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'proxflare-templates-'));
  tempDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('renderConfig', () => {
  const renderer = createRenderer();

  it('renders mixed services, wildcards, paths and originRequest', () => {
    expect(renderer.renderConfig(input(mixedRules, { originRequest: { connectTimeout: '30s' } }))).toMatchInlineSnapshot(`
      "# managed by proxflare; do not edit by hand — changes are reverted by the next sync
      tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
      credentials-file: /etc/cloudflared/6ff42ae2-765d-4adf-8112-31c55c1551ef.json
      metrics: 127.0.0.1:20241
      originRequest:
        connectTimeout: 30s
      ingress:
        - hostname: media.example.com
          path: ^/api/.*
          service: "http://[fd00::5]:8080"
        - hostname: media.example.com
          service: http://192.168.1.50:8096
        - hostname: pve.example.com
          service: https://192.168.1.10:8006
          originRequest:
            access:
              audTag:
                - aud1
              required: true
              teamName: home
            connectTimeout: 10s
            noTLSVerify: true
        - hostname: ssh.example.com
          service: ssh://192.168.1.10:22
        - hostname: teapot.example.com
          service: http_status:418
        - hostname: "*.apps.example.com"
          service: unix:/run/app.sock
        - hostname: "*.example.com"
          service: http://192.168.1.99:80
        - service: http_status:404
      "
    `);
  });

  it('renders only the catch-all when there are no rules', () => {
    expect(renderer.renderConfig(input([]))).toBe(
      `${MANAGED_HEADER}\ntunnel: ${TUNNEL}\ncredentials-file: ${CREDS}\nmetrics: 127.0.0.1:20241\ningress:\n  - service: http_status:404\n`,
    );
  });

  it('is byte-identical for the same rules in any order (and any originRequest key order)', () => {
    const expected = renderer.renderConfig(input(mixedRules));
    const reversed = [...mixedRules]
      .reverse()
      .map((rule) =>
        rule.originRequest ? { ...rule, originRequest: Object.fromEntries(Object.entries(rule.originRequest).reverse()) } : rule,
      );
    expect(renderer.renderConfig(input(reversed))).toBe(expected);
    for (let shift = 1; shift < mixedRules.length; shift++) {
      const rotated = [...mixedRules.slice(shift), ...mixedRules.slice(0, shift)];
      expect(renderer.renderConfig(input(rotated))).toBe(expected);
    }
  });

  it('passes the ingress validator and re-parses to the ordered rules plus the catch-all', () => {
    const text = renderer.renderConfig(input(mixedRules));
    expect(validateIngressConfig(text)).toEqual({ ok: true, output: 'OK', warnings: [] });
    const doc = parse(text) as { tunnel: string; 'credentials-file': string; ingress: Record<string, unknown>[] };
    expect(doc.tunnel).toBe(TUNNEL);
    expect(doc['credentials-file']).toBe(CREDS);
    // Pinned so the health gate finds /ready (cloudflared otherwise picks 20241-20245 or a random port).
    expect((doc as unknown as { metrics: string }).metrics).toBe('127.0.0.1:20241');
    expect(doc.ingress.at(-1)).toEqual({ service: 'http_status:404' });
    expect(doc.ingress.slice(0, -1)).toEqual([
      { hostname: 'media.example.com', path: '^/api/.*', service: 'http://[fd00::5]:8080' },
      { hostname: 'media.example.com', service: 'http://192.168.1.50:8096' },
      {
        hostname: 'pve.example.com',
        service: 'https://192.168.1.10:8006',
        originRequest: { access: { audTag: ['aud1'], required: true, teamName: 'home' }, connectTimeout: '10s', noTLSVerify: true },
      },
      { hostname: 'ssh.example.com', service: 'ssh://192.168.1.10:22' },
      { hostname: 'teapot.example.com', service: 'http_status:418' },
      { hostname: '*.apps.example.com', service: 'unix:/run/app.sock' },
      { hostname: '*.example.com', service: 'http://192.168.1.99:80' },
    ]);
  });

  it('routes requests the way the rules say once rendered', () => {
    const parsed = parseIngressConfig(renderer.renderConfig(input(mixedRules)));
    if (!parsed.ok) throw new Error(parsed.output);
    const serviceFor = (url: string) => {
      const m = matchIngressRule(parsed.ingress, url);
      return m.ok ? m.output.split('\n').at(-1) : m.output;
    };
    expect(serviceFor('https://media.example.com/api/items')).toBe('\tservice: http://[fd00::5]:8080');
    expect(serviceFor('https://media.example.com/web')).toBe('\tservice: http://192.168.1.50:8096');
    expect(serviceFor('https://x.apps.example.com/')).toBe('\tservice: unix:/run/app.sock');
    expect(serviceFor('https://other.example.com/')).toBe('\tservice: http://192.168.1.99:80');
    expect(serviceFor('https://example.com/')).toBe('\tservice: http_status:404');
    expect(serviceFor('https://elsewhere.net/')).toBe('\tservice: http_status:404');
  });

  it('never HTML-escapes: &, <, > and quotes in a path regex survive', () => {
    const path = `^/search\\?q=a&b<c>"d'e`;
    const text = renderer.renderConfig(input([{ hostname: 'a.example.com', path, service: 'http://10.0.0.1:80' }]));
    expect(text).not.toMatch(/&amp;|&lt;|&gt;|&quot;|&#x27;|&#39;/);
    const doc = parse(text) as { ingress: { path?: string }[] };
    expect(doc.ingress[0]!.path).toBe(path);
  });

  it('quotes values YAML would otherwise misread', () => {
    const rules: IngressRule[] = [
      { hostname: 'a.example.com', path: '*', service: 'http://10.0.0.1:80' },
      { hostname: 'b.example.com', path: '#anchor: x', service: 'http://10.0.0.1:80' },
      { hostname: 'c.example.com', path: 'true', service: 'http://10.0.0.1:80' },
      { hostname: 'd.example.com', path: '[a-z]{2}', service: 'http://10.0.0.1:80' },
    ];
    // `*` is not a valid RE2 pattern, so that rule must be refused by the validator.
    expect(() => renderer.renderConfig(input(rules))).toThrow(InternalError);
    const valid = rules.slice(1);
    const doc = parse(renderer.renderConfig(input(valid))) as { ingress: { hostname?: string; path?: string }[] };
    expect(doc.ingress.slice(0, -1).map((r) => r.path)).toEqual(['#anchor: x', 'true', '[a-z]{2}']);
  });

  it("throws InternalError, with cloudflared's reason, when its output would not validate", () => {
    const bad = input([{ hostname: 'a.example.com', path: '(?=lookahead)', service: 'http://10.0.0.1:80' }]);
    expect(() => renderer.renderConfig(bad)).toThrow(InternalError);
    expect(() => renderer.renderConfig(bad)).toThrow(/invalid or unsupported Perl syntax: `\(\?=`/);
    expect(() => renderer.renderConfig(input([{ hostname: 'a.example.com:8443', service: 'http://10.0.0.1:80' }]))).toThrow(
      /Hostname cannot contain a port/,
    );
    expect(() =>
      renderer.renderConfig(input([{ hostname: 'a.example.com', service: 'http://10.0.0.1:80', originRequest: { connectTimeout: 30 } }])),
    ).toThrow(/cannot unmarshal !!int `30` into time.Duration/);
    expect(() =>
      renderer.renderConfig(input([{ hostname: 'a.example.com', service: 'http://10.0.0.1:80', originRequest: { noTlsVerify: true } }])),
    ).toThrow(/field noTlsVerify not found in type config.OriginRequestConfig/);
  });

  it('refuses extra keys that would redefine what the template writes', () => {
    expect(() => renderer.renderConfig(input([], { ingress: [] }))).toThrow(InternalError);
  });
});

describe('renderUnit', () => {
  const renderer = createRenderer();

  it('follows cloudflared service install, with our header', () => {
    expect(renderer.renderUnit({ binary: '/usr/bin/cloudflared', configPath: '/etc/cloudflared/config.yml' })).toMatchInlineSnapshot(`
        "# managed by proxflare; do not edit by hand — changes are reverted by the next sync
        [Unit]
        Description=Cloudflare Tunnel client
        After=network-online.target
        Wants=network-online.target

        [Service]
        TimeoutStartSec=15
        Type=notify
        ExecStart=/usr/bin/cloudflared --no-autoupdate --config /etc/cloudflared/config.yml tunnel run
        Restart=on-failure
        RestartSec=5s

        [Install]
        WantedBy=multi-user.target
        "
      `);
  });

  it('quotes and escapes ExecStart arguments for systemd', () => {
    const unit = renderer.renderUnit({ binary: '/opt/cloud flared/bin', configPath: '/etc/cf/100%.yml' });
    expect(unit).toContain('ExecStart="/opt/cloud flared/bin" --no-autoupdate --config /etc/cf/100%%.yml tunnel run\n');
    expect(systemdArg('/a"b\\c')).toBe('"/a\\"b\\\\c"');
  });

  it('requires absolute paths without control characters', () => {
    expect(() => renderer.renderUnit({ binary: 'cloudflared', configPath: '/etc/cloudflared/config.yml' })).toThrow(InternalError);
    expect(() => renderer.renderUnit({ binary: '/usr/bin/cloudflared', configPath: '/etc/x.yml\nExecStartPre=/bin/sh' })).toThrow(
      /without control characters/,
    );
  });
});

describe('templates directory override', () => {
  it('uses the built-in templates by default', () => {
    const renderer = createRenderer();
    expect(renderer.templates.config).toMatch(/templates[/\\]config\.yml\.hbs$/);
    expect(renderer.templates.unit).toMatch(/templates[/\\]cloudflared\.service\.hbs$/);
  });

  it('overrides only the files present in the directory', () => {
    const dir = templatesDir({
      'cloudflared.service.hbs': '{{header}}\n[Service]\nExecStart={{systemdArg binary}} --config {{systemdArg configPath}} tunnel run\n',
    });
    const renderer = createRenderer({ templatesDir: dir });
    expect(renderer.templates.unit).toBe(join(dir, 'cloudflared.service.hbs'));
    expect(renderer.renderUnit({ binary: '/usr/bin/cloudflared', configPath: '/etc/cloudflared/config.yml' })).toBe(
      `${MANAGED_HEADER}\n[Service]\nExecStart=/usr/bin/cloudflared --config /etc/cloudflared/config.yml tunnel run\n`,
    );
    // The config template is still the built-in one.
    expect(renderer.renderConfig(input(mixedRules))).toBe(createRenderer().renderConfig(input(mixedRules)));
  });

  it('renders a user config template, adding the header if the template left it out', () => {
    const dir = templatesDir({
      'config.yml.hbs': [
        'tunnel: {{yaml tunnelId}}',
        'credentials-file: {{yaml credentialsFile}}',
        'loglevel: debug',
        'ingress:',
        '{{#each rules}}',
        '  - hostname: {{yaml hostname}}',
        '    service: {{yaml service}}',
        '{{/each}}',
        '  - service: http_status:404',
        '',
      ].join('\n'),
    });
    const text = createRenderer({ templatesDir: dir }).renderConfig(input([{ hostname: 'a.example.com', service: 'http://10.0.0.1:80' }]));
    expect(text).toBe(
      `${MANAGED_HEADER}\ntunnel: ${TUNNEL}\ncredentials-file: ${CREDS}\nloglevel: debug\ningress:\n  - hostname: a.example.com\n    service: http://10.0.0.1:80\n  - service: http_status:404\n`,
    );
  });

  it('blames the user template (UserError) when it drops rules or the catch-all', () => {
    const dir = templatesDir({
      'config.yml.hbs': 'tunnel: {{yaml tunnelId}}\ncredentials-file: {{yaml credentialsFile}}\ningress:\n  - service: http_status:404\n',
    });
    const renderer = createRenderer({ templatesDir: dir });
    expect(() => renderer.renderConfig(input([{ hostname: 'a.example.com', service: 'http://10.0.0.1:80' }]))).toThrow(UserError);
    expect(() => renderer.renderConfig(input([{ hostname: 'a.example.com', service: 'http://10.0.0.1:80' }]))).toThrow(
      /config\.yml\.hbs has 1 ingress rules, expected 2/,
    );
  });

  it('reports a template using an unknown variable, naming the file', () => {
    const dir = templatesDir({ 'cloudflared.service.hbs': 'ExecStart={{binaryPath}}\n' });
    expect(() => createRenderer({ templatesDir: dir })).toThrow(UserError);
    expect(() => createRenderer({ templatesDir: dir })).toThrow(/cloudflared\.service\.hbs.*binaryPath/s);
  });

  it('reports a template with a syntax error', () => {
    const dir = templatesDir({ 'config.yml.hbs': '{{#each rules}}\n' });
    expect(() => createRenderer({ templatesDir: dir })).toThrow(/config\.yml\.hbs is not valid handlebars/);
  });

  it('reports a missing templates directory', () => {
    expect(() => createRenderer({ templatesDir: '/nonexistent/proxflare-templates' })).toThrow(UserError);
  });
});
