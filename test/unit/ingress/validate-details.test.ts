import { describe, expect, it } from 'vitest';
import { parseGoDuration } from '../../../src/ingress/go-yaml.js';
import { matchIngressRule, parseIngressConfig, validateIngressConfig } from '../../../src/ingress/validate-ingress.js';

const rule = (body: string) => `ingress:\n  - hostname: a.example.com\n${body}  - service: http_status:404\n`;

describe('validateIngressConfig beyond the golden cases', () => {
  it.each([
    [
      'an integer duration (cloudflared needs a unit)',
      rule('    service: http://10.0.0.1:80\n    originRequest:\n      connectTimeout: 30\n'),
      'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 5: cannot unmarshal !!int `30` into time.Duration',
    ],
    [
      'a non-boolean flag, with long values shortened like yaml.v3',
      rule('    service: http://10.0.0.1:80\n    originRequest:\n      noTLSVerify: definitely-not\n'),
      'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 5: cannot unmarshal !!str `definit...` into bool',
    ],
    [
      'a map where a string belongs, and a negative port',
      rule('    service: {url: x}\n    originRequest:\n      proxyPort: -1\n'),
      'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 3: cannot unmarshal !!map into string\n  line 5: cannot unmarshal !!int `-1` into uint',
    ],
    [
      'a duplicated key',
      rule('    service: http://10.0.0.1:80\n    service: http://10.0.0.2:80\n'),
      'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 4: mapping key "service" already defined at line 3',
    ],
    [
      'ingress that is not a list',
      'ingress:\n  service: http_status:404\n',
      'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!map into []config.UnvalidatedIngressRule',
    ],
    ['an empty file', '', "Validation failed: The config file doesn't contain any ingress rules"],
    [
      'a bad port in the service',
      rule('    service: http://10.0.0.1:abc\n'),
      'Validation failed: parse "http://10.0.0.1:abc": invalid port ":abc" after host',
    ],
    [
      'a trailing slash in the service (a path)',
      rule('    service: http://10.0.0.1:80/\n'),
      "Validation failed: http://10.0.0.1:80/ is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path",
    ],
    [
      'a status code with junk',
      rule('    service: http_status:4O4\n'),
      'Validation failed: invalid HTTP status code: strconv.Atoi: parsing "4O4": invalid syntax',
    ],
    [
      'socks-proxy with an unparsable ipRules prefix',
      rule('    service: socks-proxy\n    originRequest:\n      ipRules:\n        - prefix: 10.0.0.0/33\n'),
      'Validation failed: unable to create ip rule for socks-proxy: unable to parse cidr: 10.0.0.0/33',
    ],
    [
      'socks-proxy with an out-of-range port',
      rule('    service: socks-proxy\n    originRequest:\n      ipRules:\n        - prefix: 10.0.0.0/8\n          ports: [80, 70000]\n'),
      'Validation failed: unable to create ip rule for socks-proxy: invalid port 70000, needs to be between 1 and 65535',
    ],
    [
      'an invalid regex in the second rule',
      'ingress:\n  - hostname: a.example.com\n    service: http://10.0.0.1\n  - hostname: b.example.com\n    path: "(?=x)"\n    service: http://10.0.0.1\n  - service: http_status:404\n',
      'Validation failed: Rule #2 has an invalid regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ],
  ])('%s', (_name, yaml, output) => {
    expect(validateIngressConfig(yaml)).toEqual({ ok: false, output });
  });

  it.each([
    [
      'yes/no style booleans into typed bool fields',
      rule('    service: https://10.0.0.1:443\n    originRequest:\n      noTLSVerify: yes\n'),
    ],
    [
      'bastionMode from the top-level originRequest turns a URL-less rule into a bastion',
      `originRequest:\n  bastionMode: true\n${rule('    service: not a url\n')}`,
    ],
    ['ws/wss and unknown TCP schemes', rule('    service: wss://10.0.0.1:443\n')],
    ['durations with several units', rule('    service: http://10.0.0.1\n    originRequest:\n      keepAliveTimeout: 1h2m3.5s\n')],
    [
      'anchors and aliases',
      'x: &svc http://10.0.0.1:80\ningress:\n  - hostname: a.example.com\n    service: *svc\n  - service: http_status:404\n',
    ],
  ])('accepts %s', (_name, yaml) => {
    expect(validateIngressConfig(yaml)).toEqual({ ok: true, output: 'OK', warnings: [] });
  });

  it('collects every unused key as a warning, in file order', () => {
    const yaml = rule(
      '    service: http://10.0.0.1\n    servce: typo\n    originRequest:\n      noTlsVerify: true\n      access:\n        team: x\n',
    );
    const result = validateIngressConfig(yaml);
    expect(result).toEqual({
      ok: true,
      output:
        'Warning: unused keys detected in your config file. Here is a list of unused keys:\nyaml: unmarshal errors:\n  line 4: field servce not found in type config.UnvalidatedIngressRule\n  line 6: field noTlsVerify not found in type config.OriginRequestConfig\n  line 8: field team not found in type config.AccessConfig',
      warnings: [
        'line 4: field servce not found in type config.UnvalidatedIngressRule',
        'line 6: field noTlsVerify not found in type config.OriginRequestConfig',
        'line 8: field team not found in type config.AccessConfig',
      ],
    });
  });
});

describe('parseGoDuration', () => {
  it.each<[string, number | undefined]>([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1.5h', 5400e9],
    ['250ms', 250e6],
    ['0', 0],
    ['-5s', -5e9],
    ['10', undefined],
    ['banana', undefined],
    ['', undefined],
    ['1d', undefined],
    ['.s', undefined],
  ])('%j → %s', (text, ns) => {
    expect(parseGoDuration(text)).toBe(ns);
  });
});

describe('matchIngressRule details', () => {
  const config = [
    'ingress:',
    '  - hostname: a.example.com',
    '    path: ^/api',
    '    service: http://10.0.0.1:8080',
    '  - hostname: "*.example.com"',
    '    service: ssh://10.0.0.2',
    '  - hostname: "*.v6.example.com"',
    '    service: tcp://[fd00::5]',
    '  - service: http_status:404',
  ].join('\n');
  const parsed = parseIngressConfig(config);
  if (!parsed.ok) throw new Error(parsed.output);

  it.each([
    ['https://a.example.com/api/x', 'Matched rule #0\n\thostname: a.example.com\n\tpath: ^/api\n\tservice: http://10.0.0.1:8080'],
    ['https://a.example.com/web', 'Matched rule #1\n\thostname: *.example.com\n\tservice: ssh://10.0.0.2:22'],
    ['https://a.example.com:8443/api', 'Matched rule #0\n\thostname: a.example.com\n\tpath: ^/api\n\tservice: http://10.0.0.1:8080'],
    ['https://example.com/', 'Matched rule #3\n\tservice: http_status:404'],
    ['https://notexample.com/', 'Matched rule #3\n\tservice: http_status:404'],
    ['https://x.example.com/a%2Fapi', 'Matched rule #1\n\thostname: *.example.com\n\tservice: ssh://10.0.0.2:22'],
  ])('%s', (url, output) => {
    expect(matchIngressRule(parsed.ingress, url)).toMatchObject({ ok: true, output });
  });

  it('prints the TCP service with the default port added, as cloudflared does', () => {
    const only = parseIngressConfig(
      'ingress:\n  - hostname: "*.v6.example.com"\n    service: tcp://[fd00::5]\n  - service: http_status:404\n',
    );
    if (!only.ok) throw new Error(only.output);
    expect(matchIngressRule(only.ingress, 'https://x.v6.example.com/').output).toBe(
      'Matched rule #0\n\thostname: *.v6.example.com\n\tservice: tcp://fd00::5:7864',
    );
  });

  it('rejects a URL without a scheme like cloudflared', () => {
    expect(matchIngressRule(parsed.ingress, 'pve.example.com')).toEqual({
      ok: false,
      output: "pve.example.com doesn't have a hostname, consider adding a scheme",
    });
  });

  it('accepts unvalidated rules and reports their validation failure', () => {
    expect(matchIngressRule([{ hostname: 'a.example.com', service: 'http://10.0.0.1' }], 'https://a.example.com/')).toEqual({
      ok: false,
      output: 'Validation failed: The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)',
    });
    expect(
      matchIngressRule(
        [{ hostname: 'a.example.com', service: 'http://10.0.0.1' }, { service: 'http_status:404' }],
        'https://a.example.com/',
      ),
    ).toMatchObject({ ok: true, index: 0 });
  });
});

describe('YAML features cloudflared honours', () => {
  it('applies merge keys, with explicit keys winning', () => {
    const yaml = [
      'defaults: &tls',
      '  noTLSVerify: true',
      '  connectTimeout: 5s',
      'ingress:',
      '  - hostname: a.example.com',
      '    service: https://10.0.0.1:443',
      '    originRequest:',
      '      <<: *tls',
      '      connectTimeout: 10s',
      '  - service: http_status:404',
      '',
    ].join('\n');
    expect(validateIngressConfig(yaml)).toEqual({ ok: true, output: 'OK', warnings: [] });
    // A bad merged value is an error where it is written; an overridden one is never decoded.
    const broken = yaml.replace('noTLSVerify: true', 'noTLSVerify: maybe').replace('connectTimeout: 5s', 'connectTimeout: 5');
    expect(validateIngressConfig(broken)).toEqual({
      ok: false,
      output:
        'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 2: cannot unmarshal !!str `maybe` into bool',
    });
  });
});

describe('document shapes', () => {
  it('reads only the first YAML document, like yaml.Decoder', () => {
    expect(validateIngressConfig('ingress:\n  - service: http_status:404\n---\ningress: 5\n')).toEqual({
      ok: true,
      output: 'OK',
      warnings: [],
    });
  });

  it('refuses a top level that is not a mapping', () => {
    expect(validateIngressConfig('- service: http_status:404\n')).toEqual({
      ok: false,
      output:
        'error parsing YAML in config file at config.yml: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into config.configFileSettings',
    });
  });

  it('reports YAML syntax errors with the file name and line', () => {
    const result = validateIngressConfig('ingress:\n  - hostname: a: b\n');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/^error parsing YAML in config file at config\.yml: yaml: line 2: /);
  });
});
