import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../../src/inventory/dotenv.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { ENV, MINIMAL, issueFor, load, loadError, positionOf, tempDir, writeInventory } from './helpers.js';

const SERVICE = `guests:
  - name: app
    type: lxc
    vmid: 101
    services:
      - hostname: app.example.com
        port: 8080
`;
const WITH_SERVICE = `${MINIMAL}${SERVICE}`;
/** The inventory reads every token from the environment, so a .env can supply them. */
const NO_TOKENS = { HOME: '/home/tester' };

describe('.env is parsed strictly, with line numbers (issue 13, class 2)', () => {
  it('a line without = is an error at its line, not merged into the next key', async () => {
    const file = await writeInventory(WITH_SERVICE, {
      '.env': `PVE_TOKEN_ID=proxflare@pve!cli\nCLOUDFLARE_API_TOKEN abc\nPVE_TOKEN_SECRET=${ENV.PVE_TOKEN_SECRET}\nCLOUDFLARE_API_TOKEN=${ENV.CLOUDFLARE_API_TOKEN}\n`,
    });
    const error = await loadError(file, { env: NO_TOKENS });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({
      file: join(file, '..', '.env'),
      line: 2,
      column: 1,
      message: 'line has no `=` after CLOUDFLARE_API_TOKEN',
    });
    expect(error.message).not.toContain('abc');
    // The next line was read: no "${PVE_TOKEN_SECRET} is not set".
    expect(error.message).not.toContain('is not set');
  });

  it('a `=value` line is an error and the lines after it are still read', async () => {
    const file = await writeInventory(WITH_SERVICE, {
      '.env': `=oops\nPVE_TOKEN_ID=proxflare@pve!cli\nPVE_TOKEN_SECRET=${ENV.PVE_TOKEN_SECRET}\nCLOUDFLARE_API_TOKEN=${ENV.CLOUDFLARE_API_TOKEN}\n`,
    });
    const error = await loadError(file, { env: NO_TOKENS });
    expect(error.issues.map((i) => `${i.line} ${i.message}`)).toEqual(['1 a value without a name before `=`']);
  });

  it('a BOM before the first key is ignored, and CRLF line ends work', async () => {
    const file = await writeInventory(WITH_SERVICE, {
      '.env': `\uFEFFPVE_TOKEN_ID=proxflare@pve!cli\r\nPVE_TOKEN_SECRET=${ENV.PVE_TOKEN_SECRET}\r\nCLOUDFLARE_API_TOKEN=${ENV.CLOUDFLARE_API_TOKEN}\r\n`,
    });
    const inv = await loadInventory(file, { env: NO_TOKENS });
    expect(inv.proxmox.tokenId).toBe('proxflare@pve!cli');
  });

  it('an unclosed quote is reported at the line that opens it', () => {
    const result = parseDotenv('A=1\nB="unclosed\nC=3\nD=4\n');
    expect(result.problems).toEqual([
      expect.objectContaining({ line: 2, column: 3, message: 'the double quote opened here for B is never closed' }),
    ]);
  });

  it('accepts comments, export, quotes (multi-line in double quotes) and inline comments', () => {
    const result = parseDotenv('# c\nexport A=1 # one\nB=\'x # y\'\nC="l1\\nl2"\nD="multi\nline"\nE=\n  F = spaced\n');
    expect(result.problems).toEqual([]);
    expect(result.values).toEqual({ A: '1', B: 'x # y', C: 'l1\nl2', D: 'multi\nline', E: '', F: 'spaced' });
  });

  it('names that are not variable names are errors', () => {
    expect(parseDotenv('PVE-TOKEN=1\n1X=2\n').problems.map((p) => p.line)).toEqual([1, 2]);
  });
});

describe('values sent in HTTP headers (class 3)', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'a zero-width space pasted into the token secret',
      'PVE_TOKEN_SECRET',
      `${ENV.PVE_TOKEN_SECRET}\u200b`,
      /proxmox\.tokenSecret.*U\+200B \(zero-width space\) at character 37 of 37 \(at the end\)/,
    ],
    [
      'a newline inside the Cloudflare token',
      'CLOUDFLARE_API_TOKEN',
      'abcdef\nghijkl',
      /cloudflare\.apiToken.*U\+000A \(line feed\) at character 7 of 13/,
    ],
    [
      'a control character in the token id',
      'PVE_TOKEN_ID',
      'proxflare@pve!c\u0007li',
      /proxmox\.tokenId.*U\+0007 \(control character\) at character 16/,
    ],
    [
      'a no-break space in the token id',
      'PVE_TOKEN_ID',
      '\u00a0proxflare@pve!cli',
      /proxmox\.tokenId.*U\+00A0 \(no-break space\) at character 1 of 18 \(at the start\)/,
    ],
    ['a non-Latin-1 letter in the Cloudflare token', 'CLOUDFLARE_API_TOKEN', 'tokenтoken', /cloudflare\.apiToken.*U\+0442 at character 6/],
  ];
  for (const [name, variable, value, expected] of cases) {
    it(name, async () => {
      const error = await loadError(WITH_SERVICE, { env: { ...ENV, [variable]: value } });
      const field = {
        PVE_TOKEN_SECRET: 'proxmox.tokenSecret',
        CLOUDFLARE_API_TOKEN: 'cloudflare.apiToken',
        PVE_TOKEN_ID: 'proxmox.tokenId',
      }[variable]!;
      const issue = issueFor(error, field); // one issue, not a UUID complaint on top
      expect(error.message).toMatch(expected);
      expect(issue.hint).toContain('re-copy');
      expect(error.message).not.toContain(value);
    });
  }
});

describe('huge or binary input (class 4)', () => {
  it('a binary file is one problem, not thousands', async () => {
    const dir = await tempDir();
    const file = join(dir, 'inventory.yaml');
    const bytes = Buffer.alloc(200_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    await writeFile(file, bytes);
    const error = await loadError(file);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.message).toMatch(/is not a text file \(a NUL byte at offset \d+\)/);
  });

  it('a file in another encoding is named as such', async () => {
    const file = await writeInventory('x');
    await writeFile(file, Buffer.from(`${WITH_SERVICE}# caf\xe9\n`, 'latin1'));
    const error = await loadError(file);
    expect(error.issues[0]!.message).toMatch(/is not valid UTF-8 \(byte 0xe9 at offset \d+\)/);
    expect(error.issues[0]!.line).toBe(WITH_SERVICE.split('\n').length);
  });

  it('problems are capped at 20 with "and N more", and quoted garbage is cut to an excerpt', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `key${i}: [${'x'.repeat(5000)}`);
    const error = await loadError(`${lines.join('\n')}\n`);
    expect(error.issues.length).toBeGreaterThan(20);
    expect(error.message.split('\n').filter((l) => l.startsWith('  /'))).toHaveLength(20);
    expect(error.message).toMatch(new RegExp(`… and ${error.issues.length - 20} more`));
    expect(error.message.length).toBeLessThan(20 * 600);
  });

  it('a long token quoted by yaml is cut short', async () => {
    const error = await loadError(`${MINIMAL}guests: "${'g'.repeat(100_000)}\n`);
    expect(error.message.length).toBeLessThan(2000);
  });
});

describe('an empty publication (class 5)', () => {
  it('no guests warns that nothing is published', async () => {
    const inv = await load(MINIMAL);
    expect(inv.warnings.join('\n')).toMatch(/no guests: nothing is published/);
  });
  it('guests without services warns too', async () => {
    const inv = await load(`${MINIMAL}guests:\n  - name: a\n    type: lxc\n    vmid: 101\n`);
    expect(inv.warnings.join('\n')).toMatch(/no guest has services: nothing is published/);
  });
  it('a guest with a service does not', async () => {
    const inv = await load(WITH_SERVICE);
    expect(inv.warnings.join('\n')).not.toMatch(/nothing is published/);
  });
});

describe('hints that point at the real mistake (class 6)', () => {
  it('an unquoted wildcard hostname says to quote it', async () => {
    const yaml = WITH_SERVICE.replace('hostname: app.example.com', 'hostname: *.example.com');
    const error = await loadError(yaml);
    expect(error.issues[0]).toMatchObject({
      ...positionOf(yaml, '*.example.com'),
      message: '`*.example.com` is read as a YAML alias (a plain value cannot start with *)',
      hint: 'quote it: "*.example.com"',
    });
  });

  it('an unclosed quote is reported at its own line, not at the end of the file', async () => {
    const yaml = WITH_SERVICE.replace('name: homelab', 'name: "homelab');
    const error = await loadError(yaml);
    const issue = error.issues.find((i) => i.message.includes('never closed'))!;
    expect(issue).toMatchObject(positionOf(yaml, '"homelab'));
  });

  it('a directory given as the inventory is named as one', async () => {
    const dir = await tempDir();
    const error = await loadError(dir);
    expect(error.issues[0]!.message).toBe('the inventory is a directory, not a file');
    expect(error.issues[0]!.hint).not.toContain('permissions');
  });

  it('a symlink loop is named as one', async () => {
    const dir = await tempDir();
    await symlink('loop.yaml', join(dir, 'loop.yaml'));
    const error = await loadError(join(dir, 'loop.yaml'));
    expect(error.issues[0]!.message).toContain('symbolic link that points back to itself');
  });

  it('a path under a file is named as such', async () => {
    const file = await writeInventory(WITH_SERVICE);
    const error = await loadError(join(file, 'inventory.yaml'));
    expect(error.issues[0]!.message).toContain('is a file, not a directory');
  });

  it('a syntax error does not hide the problems on the lines that parsed', async () => {
    const yaml = WITH_SERVICE.replace('storage: local-lvm', 'storage: local-lvm\n  memory: [512')
      .replace('port: 8080', 'port: 70000')
      .replace('vmid: 101', 'vmid: 5');
    const error = await loadError(yaml);
    const got = error.issues.map((i) => `${i.line} ${i.field || i.message.slice(0, 18)}`);
    expect(got).toContain(`${positionOf(yaml, 'vmid: 5').line} guests[0].vmid`);
    expect(got).toContain(`${positionOf(yaml, 'port: 70000').line} guests[0].services[0].port`);
    expect(got.some((g) => g.includes('YAML syntax error'))).toBe(true);
    // Nothing "is required" because of what the broken line swallowed.
    expect(error.message).not.toContain('is required');
  });

  it('an inventory directory with a .env directory says so', async () => {
    const file = await writeInventory(WITH_SERVICE);
    await mkdir(join(file, '..', '.env'));
    const error = await loadError(file, { env: NO_TOKENS });
    expect(error.issues[0]!.message).toMatch(/\.env is a directory/);
  });
});
