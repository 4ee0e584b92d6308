import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** The built CLI as a user runs it: `node bin/proxflare.js ...` in a child process. */
const BIN = new URL('../../../bin/proxflare.js', import.meta.url).pathname;
const ROOT = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

async function proxflare(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? ROOT,
      env: { PATH: process.env.PATH, HOME: options.cwd ?? tmpdir(), ...options.env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the proxflare binary', () => {
  it('validates the example inventory', async () => {
    const r = await proxflare(['validate', '-i', 'inventory.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/inventory\.yaml is valid: \d+ guests/);
  });

  it('reports every problem of a broken inventory with file:line:col, and exits 1 without a stack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-bin-'));
    const file = join(dir, 'broken.yaml');
    await writeFile(
      file,
      [
        'proxmox:',
        '  url: https://pve.lan:8006',
        '  tokenId: not-a-token-id',
        '  tokenSecret: ${MISSING_SECRET}',
        '  node: pve',
        'cloudflare:',
        '  apiToken: x',
        '  accountId: 0123456789abcdef0123456789abcdef',
        '  zone: example.com',
        'tunnel: { name: homelab }',
        'connector: { template: "local:vztmpl/x.tar.zst", storage: local-lvm, memroy: 512 }',
        'guests:',
        '  - name: a',
        '    type: lxc',
        '    vmid: 101',
        '    services:',
        '      - hostname: app.other.org',
        '        port: 70000',
        '',
      ].join('\n'),
    );
    const r = await proxflare(['validate', '-i', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3:12 proxmox.tokenId:`);
    expect(r.stderr).toContain(`${file}:4:16 proxmox.tokenSecret: \${MISSING_SECRET} is not set`);
    expect(r.stderr).toMatch(/connector\.memroy.*did you mean `memory`/);
    expect(r.stderr).toMatch(new RegExp(`${file}:17:\\d+ guests\\[0\\]\\.services\\[0\\]\\.hostname`));
    expect(r.stderr).toMatch(new RegExp(`${file}:18:\\d+ guests\\[0\\]\\.services\\[0\\]\\.port`));
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
  });

  it('init writes a starter inventory, its schema and .env.example, and refuses to overwrite them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-init-'));
    const first = await proxflare(['init'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const starter = await readFile(join(dir, 'inventory.yaml'), 'utf8');
    expect(starter.split('\n')[0]).toBe('# yaml-language-server: $schema=./inventory.schema.json');
    expect(await readFile(join(dir, '.env.example'), 'utf8')).toContain('PVE_TOKEN_SECRET=');
    expect(JSON.parse(await readFile(join(dir, 'inventory.schema.json'), 'utf8'))).toHaveProperty('properties.guests');
    const second = await proxflare(['init'], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('--force');
  });

  it('prints the same JSON Schema that is committed as inventory.schema.json', async () => {
    const r = await proxflare(['schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(await readFile(join(ROOT, 'inventory.schema.json'), 'utf8'));
  });
});
