/**
 * The stand-in cloudflared must answer like the real one where proxflare depends on it:
 * every captured `ingress validate` / `ingress rule` case, byte for byte, with the same exit code.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStandinDeb, installStandinCloudflared, STANDIN_VERSION } from '../../src/sim/standin/build-deb.js';
import { matchIngressRule, parseIngressConfig, validateIngressConfig, type CompiledIngress } from '../../src/ingress/validate-ingress.js';
import { standinGate } from './support/prerequisites.js';

interface Golden {
  validate_cases: { name: string; config_yaml: string; exit_code: number; output: string }[];
  rule_cases: { config: string; url: string; exit_code: number; output: string }[];
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/e2e/cloudflared-ingress-golden.json', import.meta.url), 'utf8')) as Golden;
const gate = standinGate('stand-in cloudflared tests');
const work = mkdtempSync(join(tmpdir(), 'pf-standin-'));
const script = join(work, 'bin', 'cloudflared');
beforeAll(() => installStandinCloudflared(script));

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async, so the worker stays responsive while many Python processes start on a busy machine. */
function cloudflared(args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(script, args, { cwd: work, env: { PATH: process.env.PATH ?? '', HOME: work } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function inBatches<T, R>(items: T[], size: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    results.push(...(await Promise.all(items.slice(i, i + size).map(task))));
  }
  return results;
}

/** Golden outputs leave out the first line ("Validating rules from …"); stdout and stderr together. */
function withoutFirstLine(result: { stdout: string; stderr: string }): string {
  return `${result.stdout}${result.stderr}`.split('\n').slice(1).join('\n').trim();
}

describe.skipIf(gate.skip)('stand-in cloudflared', () => {
  it('says it is a stand-in, keeping the "cloudflared version X" prefix', async () => {
    for (const args of [['--version'], ['version'], ['-v']]) {
      const result = await cloudflared(args);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(`cloudflared version ${STANDIN_VERSION} (proxflare test stand-in, not the real cloudflared)`);
    }
  });

  const validated = new Map<string, Result>();
  const ruled = new Map<string, Result>();
  beforeAll(async () => {
    for (const c of golden.validate_cases) writeFileSync(join(work, `${c.name}.yml`), c.config_yaml);
    const results = await inBatches(golden.validate_cases, 6, (c) =>
      cloudflared(['tunnel', '--config', `${c.name}.yml`, 'ingress', 'validate']),
    );
    golden.validate_cases.forEach((c, i) => validated.set(c.name, results[i] as Result));
    const rules = await inBatches(golden.rule_cases, 6, (c) =>
      cloudflared(['tunnel', '--config', `${c.config}.yml`, 'ingress', 'rule', c.url]),
    );
    golden.rule_cases.forEach((c, i) => ruled.set(`${c.config} ${c.url}`, rules[i] as Result));
  }, 300_000);

  for (const c of golden.validate_cases) {
    it(`ingress validate: ${c.name}`, () => {
      const result = validated.get(c.name) as Result;
      expect(result.stdout.split('\n')[0]).toBe(`Validating rules from ${c.name}.yml`);
      expect(withoutFirstLine(result)).toBe(c.output);
      expect(result.code).toBe(c.exit_code);
    });
  }

  for (const c of golden.rule_cases) {
    it(`ingress rule: ${c.config} ${c.url}`, () => {
      const result = ruled.get(`${c.config} ${c.url}`) as Result;
      expect(withoutFirstLine(result)).toBe(c.output);
      expect(result.code).toBe(c.exit_code);
    });
  }

  it('reports a missing config file like cloudflared', async () => {
    const result = await cloudflared(['tunnel', 'ingress', 'validate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^No configuration file was found\. Please create one, or use the --config flag/);
  });

  describe('tunnel run', () => {
    const tunnelId = '6ff42ae2-765d-4adf-8112-31c55c1551ef';
    const credentials = join(work, 'creds.json');
    const config = (extra = '') =>
      `tunnel: ${tunnelId}\ncredentials-file: ${credentials}\n${extra}ingress:\n  - hostname: media.example.com\n    service: http://10.0.0.5:8096\n  - service: http_status:404\n`;
    const writeCredentials = (tunnel = tunnelId, secret = Buffer.alloc(32, 7).toString('base64')) =>
      writeFileSync(credentials, JSON.stringify({ AccountTag: 'a'.repeat(32), TunnelSecret: secret, TunnelID: tunnel, Endpoint: '' }));

    it('stays up, logs what it would serve, and exits 0 on SIGTERM', async () => {
      writeCredentials();
      writeFileSync(join(work, 'run.yml'), config());
      const child = spawn(script, ['--no-autoupdate', '--config', join(work, 'run.yml'), 'tunnel', 'run'], {
        env: { PATH: process.env.PATH ?? '' },
      });
      let log = '';
      child.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString();
      });
      await expect.poll(() => log, { timeout: 10_000 }).toMatch(/Registered tunnel connection/);
      expect(child.exitCode).toBeNull();
      expect(log).toContain('proxflare stand-in');
      expect(log).toContain('hostname=media.example.com service=http://10.0.0.5:8096');
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log).toContain('Initiating graceful shutdown due to signal SIGTERM');
    });

    it('notifies an abstract NOTIFY_SOCKET (@name): READY=1 when up, STOPPING=1 on SIGTERM', async () => {
      writeCredentials();
      writeFileSync(join(work, 'run.yml'), config());
      const name = `pf-notify-${process.pid}`;
      // Node has no AF_UNIX datagram sockets; a tiny Python listener plays systemd.
      const listener = spawn('python3', [
        '-c',
        [
          'import socket, sys',
          's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
          `s.bind("\\0${name}")`,
          'print("bound", flush=True)',
          's.settimeout(20)',
          'for _ in range(2): print(repr(s.recv(4096).decode()), flush=True)',
        ].join('\n'),
      ]);
      let heard = '';
      listener.stdout.on('data', (chunk: Buffer) => {
        heard += chunk.toString();
      });
      await expect.poll(() => heard, { timeout: 15_000 }).toContain('bound');
      const child = spawn(script, ['--config', join(work, 'run.yml'), 'tunnel', 'run'], {
        env: { PATH: process.env.PATH ?? '', NOTIFY_SOCKET: `@${name}` },
      });
      await expect.poll(() => heard, { timeout: 15_000 }).toContain('READY=1');
      expect(heard).toContain(`STATUS=stand-in serving tunnel ${tunnelId} (2 ingress rules)`);
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect.poll(() => heard, { timeout: 15_000 }).toContain('STOPPING=1');
      listener.kill();
    });

    it.each([
      [
        'no tunnel id',
        () => writeFileSync(join(work, 'bad.yml'), config().replace(/^tunnel: .*\n/, '')),
        /requires the ID or name of the tunnel to run/,
        255,
      ],
      [
        'credentials of another tunnel',
        () => {
          writeCredentials('11111111-2222-4333-8444-555555555555');
          writeFileSync(join(work, 'bad.yml'), config());
        },
        /belongs to tunnel 11111111-2222-4333-8444-555555555555/,
        1,
      ],
      [
        'credentials that are not JSON',
        () => {
          writeFileSync(credentials, 'not json');
          writeFileSync(join(work, 'bad.yml'), config());
        },
        /Invalid JSON when parsing tunnel credentials file/,
        1,
      ],
      [
        'a missing credentials file',
        () => {
          rmSync(credentials, { force: true });
          writeFileSync(join(work, 'bad.yml'), config());
        },
        /Tunnel credentials file '.*creds\.json' doesn't exist or is not a file/,
        1,
      ],
      [
        'invalid ingress',
        () => {
          writeCredentials();
          writeFileSync(join(work, 'bad.yml'), config().replace('  - service: http_status:404\n', ''));
        },
        /The last ingress rule must match all URLs/,
        1,
      ],
    ])('refuses to run with %s', async (_name, prepare, message, code) => {
      prepare();
      const result = await cloudflared(['--config', join(work, 'bad.yml'), 'tunnel', 'run']);
      expect(result.stderr).toMatch(message);
      expect(result.code).toBe(code);
    });
  });

  it('packs into a cloudflared .deb (Architecture all, depends on python3) with its ingress engine', async () => {
    const deb = await buildStandinDeb(join(work, 'deb'), '2026.9.1-standin');
    expect(deb).toMatch(/cloudflared_2026\.9\.1-standin_all\.deb$/);
    const info = spawnSync('dpkg-deb', ['--field', deb, 'Package', 'Version', 'Architecture', 'Depends'], { encoding: 'utf8' });
    expect(info.stdout).toBe('Package: cloudflared\nVersion: 2026.9.1-standin\nArchitecture: all\nDepends: python3\n');
    const listing = spawnSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8' }).stdout;
    expect(listing).toMatch(/^-rwxr-xr-x root\/root .* \.\/usr\/bin\/cloudflared$/m);
    expect(listing).toMatch(/ \.\/usr\/lib\/cloudflared-standin\/cloudflared-ingress\.cjs$/m);
    expect(listing).toMatch(/^drwxr-xr-x root\/root .* \.\/$/m);
    const unpacked = join(work, 'unpacked');
    spawnSync('dpkg-deb', ['-x', deb, unpacked]);
    const version = spawnSync(join(unpacked, 'usr', 'bin', 'cloudflared'), ['--version'], { encoding: 'utf8' });
    expect(version.stdout).toContain('cloudflared version 2026.9.1-standin (proxflare test stand-in');
  });

  /**
   * What the stand-in used to get wrong (Python `re` instead of RE2, no percent-decoding, empty
   * path turned into "/", YAML 1.1 booleans, merge keys, a second document): it now answers
   * exactly as the project's port of cloudflared, which the golden cases above pin to the real one.
   */
  const divergences: [name: string, yaml: string, url?: string, rule?: number][] = [
    [
      'RE2 \\pL',
      "ingress:\n  - hostname: a.example.com\n    path: '^/\\pL+$'\n    service: http://10.0.0.1:80\n  - service: http_status:404\n",
      'https://a.example.com/%C3%A4',
    ],
    [
      'RE2 (?U)',
      'ingress:\n  - hostname: a.example.com\n    path: "(?U)^/a+"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
    ],
    [
      'RE2 \\Q..\\E and \\z',
      "ingress:\n  - hostname: a.example.com\n    path: '^\\Q/a.b\\E\\z'\n    service: http://10.0.0.1:80\n  - service: http_status:404\n",
      'https://a.example.com/a.b',
    ],
    [
      'RE2 named group',
      'ingress:\n  - hostname: a.example.com\n    path: "^/(?<n>x)"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
    ],
    [
      'no lookahead in RE2',
      'ingress:\n  - hostname: a.example.com\n    path: "^/(?=x)"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
    ],
    [
      'no possessive in RE2',
      'ingress:\n  - hostname: a.example.com\n    path: "a*+"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
    ],
    [
      'percent-decoded path',
      'ingress:\n  - hostname: a.example.com\n    path: "^/a b$"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
      'https://a.example.com/a%20b',
    ],
    // cloudflared matches the empty path of https://host as "", which `^/` does not match.
    [
      'empty path',
      'ingress:\n  - hostname: a.example.com\n    path: "^/"\n    service: http://10.0.0.1:80\n  - service: http_status:404\n',
      'https://a.example.com',
      1,
    ],
    [
      'merge key',
      'base: &b\n  service: http://10.0.0.1:80\ningress:\n  - <<: *b\n    hostname: a.example.com\n  - service: http_status:404\n',
      'https://a.example.com/',
    ],
    ['a second YAML document', 'ingress:\n  - service: http_status:404\n---\nnot: [valid\n'],
  ];
  for (const [name, yaml, url, rule = 0] of divergences) {
    it(`agrees with the project's cloudflared port: ${name}`, async () => {
      const file = join(work, `div-${name.replace(/\W+/g, '-')}.yml`);
      writeFileSync(file, yaml);
      const validated = await cloudflared(['tunnel', '--config', file, 'ingress', 'validate']);
      const expected = validateIngressConfig(yaml, { fileName: file });
      expect(withoutFirstLine(validated)).toBe(expected.output);
      expect(validated.code).toBe(expected.ok ? 0 : 1);
      if (url) {
        const ruled = await cloudflared(['tunnel', '--config', file, 'ingress', 'rule', url]);
        expect(ruled.code).toBe(0);
        expect(withoutFirstLine(ruled)).toBe(
          matchIngressRule((parseIngressConfig(yaml) as { ingress: CompiledIngress }).ingress, url).output,
        );
        expect(withoutFirstLine(ruled)).toMatch(new RegExp(`^Matched rule #${rule}\n`));
      }
    });
  }
});
