import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  OutputFormatError,
  hostOutput,
  parseCloudflaredVersion,
  parseProbeOutput,
  parseStateOutput,
} from '../../../src/connector/output-parser.js';
import { RUN_STDIN_SCRIPT, parseProbeUrl, readStateScript } from '../../../src/connector/remote-scripts.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function stateOutput(lines: string[]): string {
  return ['@@proxflare-state 1', ...lines, '@@done', ''].join('\n');
}

describe('parseStateOutput', () => {
  it('reads version, files (content, mode, owner), absent files and unit state, ignoring noise', () => {
    const out = stateOutput([
      'Welcome to the connector! (motd noise)',
      '@@version cloudflared version 2026.8.2 (built 2026-08-20-1200 UTC)',
      '@@file /etc/cloudflared/config.yml',
      '@@meta 644 root',
      b64('tunnel: x\ningress:\n  - service: http_status:404\n'),
      '@@end',
      '@@file /etc/cloudflared/empty',
      '@@meta 600 cloudflared',
      '',
      '@@end',
      '@@absent /etc/cloudflared/creds.json',
      '@@enabled enabled',
      '@@active active',
    ]);
    const state = parseStateOutput(out, ['/etc/cloudflared/config.yml', '/etc/cloudflared/empty', '/etc/cloudflared/creds.json']);
    expect(state.cloudflaredVersion).toBe('2026.8.2');
    expect(state.files.get('/etc/cloudflared/config.yml')).toEqual({
      content: 'tunnel: x\ningress:\n  - service: http_status:404\n',
      mode: 0o644,
      owner: 'root',
    });
    expect(state.files.get('/etc/cloudflared/empty')).toEqual({ content: '', mode: 0o600, owner: 'cloudflared' });
    expect(state.files.has('/etc/cloudflared/creds.json')).toBe(false);
    expect(state.unit).toEqual({ enabled: true, active: true });
  });

  it('maps systemctl words: not-found/disabled/inactive/activating are not enabled/active', () => {
    for (const [enabled, active] of [
      ['disabled', 'inactive'],
      ['unknown', 'unknown'],
      ['masked', 'activating'],
    ]) {
      const out = stateOutput(['@@version-absent', `@@enabled ${enabled}`, `@@active ${active}`]);
      expect(parseStateOutput(out, []).unit).toEqual({ enabled: false, active: false });
      expect(parseStateOutput(out, []).cloudflaredVersion).toBeUndefined();
    }
  });

  it('treats a cut-short read as an error, never as an empty host', () => {
    const full = stateOutput(['@@version-absent', '@@absent /a', '@@enabled disabled', '@@active inactive']);
    const cut = full.slice(0, full.indexOf('@@enabled'));
    expect(() => parseStateOutput(cut, ['/a'])).toThrow(OutputFormatError);
    expect(() => parseStateOutput('', ['/a'])).toThrow(/did not start/);
  });

  it('rejects missing records, malformed file records and non-regular files', () => {
    const base = ['@@version-absent', '@@enabled disabled', '@@active inactive'];
    expect(() => parseStateOutput(stateOutput(base), ['/missing'])).toThrow(/no record for \/missing/);
    expect(() => parseStateOutput(stateOutput(['@@file /a', '@@meta 644 root', 'not*base64', '@@end', ...base]), ['/a'])).toThrow(
      /not base64/,
    );
    expect(() => parseStateOutput(stateOutput(['@@file /a', '@@end', ...base]), ['/a'])).toThrow(/malformed/);
    expect(() => parseStateOutput(stateOutput(['@@notfile /a', ...base]), ['/a'])).toThrow(/not a regular file/);
  });
});

describe('parseCloudflaredVersion', () => {
  it('reads release, dev and stand-in version lines', () => {
    expect(parseCloudflaredVersion('cloudflared version 2025.5.0 (built 2025-05-01-1200 UTC)')).toBe('2025.5.0');
    expect(parseCloudflaredVersion('cloudflared version 2026.8.2-standin (proxflare test stand-in)')).toBe('2026.8.2-standin');
    expect(parseCloudflaredVersion('sh: 1: cloudflared: not found')).toBeUndefined();
  });
});

describe('probe output', () => {
  it('parses results by index and fills in targets the host never answered', () => {
    const targets = [{ url: 'http://10.0.0.5:8096' }, { url: 'tcp://10.0.0.5:22' }, { url: 'http://10.0.0.6:80' }];
    const out = ['@@probe 0 ok HTTP 200', '@@probe 1 fail Connection refused', '@@done'].join('\n');
    expect(parseProbeOutput(out, targets)).toEqual([
      { url: 'http://10.0.0.5:8096', ok: true, detail: 'HTTP 200' },
      { url: 'tcp://10.0.0.5:22', ok: false, detail: 'Connection refused' },
      { url: 'http://10.0.0.6:80', ok: false, detail: 'no result from the connector' },
    ]);
    expect(() => parseProbeOutput('@@probe 0 ok HTTP 200', targets)).toThrow(/cut short/);
  });

  it('knows the default ports and which schemes are probed', () => {
    expect(parseProbeUrl('https://10.0.0.5')).toEqual({ kind: 'http', host: '10.0.0.5', port: 443 });
    expect(parseProbeUrl('ssh://10.0.0.5')).toEqual({ kind: 'tcp', host: '10.0.0.5', port: 22 });
    expect(parseProbeUrl('unix:/run/x.sock').kind).toBe('skip');
  });

  it('collects host output lines for error messages', () => {
    expect(hostOutput('@@validate\n@@out Validating rules from x\n@@out Validation failed: boom\n@@error no')).toBe(
      'Validating rules from x\nValidation failed: boom',
    );
  });
});

describe('readState script run by a local sh (quoting and parsing end to end)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'proxflare-state-'));
    await mkdir(join(dir, 'root', 'etc', "odd dir's"), { recursive: true });
    await mkdir(join(dir, 'bin'));
    // A tiny systemctl that answers like systemd does for an unknown unit.
    await writeFile(join(dir, 'bin', 'systemctl'), '#!/bin/sh\n[ "$1" = is-enabled ] && echo disabled || echo inactive\nexit 3\n');
    await chmod(join(dir, 'bin', 'systemctl'), 0o755);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('handles paths with spaces and quotes, binary-ish content and absent files', async () => {
    const odd = "/etc/odd dir's/a $(x) `y`.yml";
    const content = 'line1\n\ttab "quoted" $HOME `cmd`\n\u00e9\n';
    await writeFile(join(dir, 'root', odd), content, { mode: 0o640 });
    const script = readStateScript({ root: join(dir, 'root'), binDir: join(dir, 'bin') }, [odd, '/etc/none'], 'cloudflared.service');
    const stdout = execFileSync('/bin/sh', ['-c', RUN_STDIN_SCRIPT.replace(/^\/bin\/sh -c /, '').slice(1, -1)], {
      input: script,
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin' },
    });
    const state = parseStateOutput(stdout, [odd, '/etc/none']);
    expect(state.files.get(odd)?.content).toBe(content);
    expect(state.files.get(odd)?.mode).toBe(0o640);
    expect(state.files.has('/etc/none')).toBe(false);
    expect(state.unit).toEqual({ enabled: false, active: false });
  });
});
