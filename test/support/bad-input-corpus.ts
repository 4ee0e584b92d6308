import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimulatedHomelab } from '../../src/demo/simulated-homelab.js';

/**
 * Broken inventories, .env files and local files a homelab owner plausibly ends up with,
 * one issue-13 class per group. Each case breaks the simulated homelab's working setup in one
 * way; `expect` is what the error must say. Local files (keys, known_hosts) are only warnings
 * for `validate` (`validate: 'warns'`), which also runs where the keys are not, e.g. in CI; it does not
 * parse the keys (`'passes'`), so it stays free of ssh2. `sync`, dry-run included, refuses them all.
 */
export interface BadInputCase {
  class: string;
  name: string;
  /** Changes the lab's files/environment; returns an undo. */
  apply(lab: SimulatedHomelab, env: NodeJS.ProcessEnv): Promise<(() => Promise<void>) | void>;
  expect: RegExp;
  validate?: 'fails' | 'warns' | 'passes';
}

async function editInventory(lab: SimulatedHomelab, edit: (yaml: string) => string): Promise<() => Promise<void>> {
  const before = await readFile(lab.inventoryFile, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error('corpus edit changed nothing');
  await writeFile(lab.inventoryFile, after);
  return () => writeFile(lab.inventoryFile, before);
}

/** Replaces a `key: value` line of the connector's ssh section. */
function sshField(yaml: string, key: string, value: string): string {
  const re = new RegExp(`^(    ${key}:).*$`, 'm');
  return re.test(yaml) ? yaml.replace(re, `$1 ${value}`) : yaml.replace(/^  ssh:\n/m, `  ssh:\n    ${key}: ${value}\n`);
}

/** Moves a variable from the environment into .env (as written by `write`). */
function dotenv(variable: string, write: (value: string) => string): BadInputCase['apply'] {
  return async (lab, env) => {
    const value = env[variable]!;
    delete env[variable];
    const file = join(lab.dir, '.env');
    await writeFile(file, write(value));
    return async () => {
      env[variable] = value;
      await rm(file, { force: true });
    };
  };
}

function immutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path]);
}

export const BAD_INPUT_CORPUS: BadInputCase[] = [
  // 1. Local prerequisites.
  {
    class: 'local prerequisites',
    name: 'knownHosts is a directory',
    apply: async (lab) => {
      const dir = join(lab.dir, 'kh-dir');
      await mkdir(dir, { recursive: true });
      return editInventory(lab, (y) => sshField(y, 'knownHosts', dir));
    },
    expect: /connector\.ssh\.knownHosts: .*kh-dir is a directory, not a known_hosts file/,
    validate: 'warns',
  },
  {
    class: 'local prerequisites',
    name: 'knownHosts under a file',
    apply: (lab) => editInventory(lab, (y) => sshField(y, 'knownHosts', `${lab.inventoryFile}/known_hosts`)),
    expect: /connector\.ssh\.knownHosts: a part of .* is a file, not a directory/,
    validate: 'warns',
  },
  {
    class: 'local prerequisites',
    name: 'privateKey does not exist (nor its .pub)',
    apply: (lab) => editInventory(lab, (y) => sshField(y, 'privateKey', join(lab.dir, 'no-such-key'))),
    expect: /connector\.ssh\.privateKey: .*no-such-key does not exist \(.*ssh-keygen/,
    validate: 'warns',
  },
  {
    class: 'local prerequisites',
    name: 'privateKey does not exist but its .pub does',
    apply: async (lab) => {
      const key = join(lab.dir, 'only-pub');
      await writeFile(`${key}.pub`, await readFile(`${lab.host.privateKeyPath}.pub`, 'utf8').catch(() => 'ssh-ed25519 AAAA x\n'));
      return editInventory(lab, (y) => sshField(y, 'privateKey', key));
    },
    expect: /connector\.ssh\.privateKey: .*only-pub does not exist/,
    validate: 'warns',
  },
  {
    class: 'local prerequisites',
    name: 'privateKey is the public key',
    apply: async (lab) => {
      const pub = join(lab.dir, 'given.pub');
      await writeFile(pub, await readFile(`${lab.host.privateKeyPath}.pub`, 'utf8'));
      return editInventory(lab, (y) => sshField(y, 'privateKey', pub));
    },
    expect: /connector\.ssh\.privateKey: .*holds a public key, not a private one/,
    validate: 'passes',
  },
  {
    class: 'local prerequisites',
    name: 'privateKey is not a key at all (a PuTTY export renamed, a typo in the path to a config file)',
    apply: async (lab) => {
      const file = join(lab.dir, 'id_garbage');
      await writeFile(file, 'PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n');
      return editInventory(lab, (y) => sshField(y, 'privateKey', file));
    },
    expect: /connector\.ssh\.privateKey: .*is not a private key ssh can use/,
    validate: 'passes',
  },
  {
    class: 'local prerequisites',
    name: 'the .pub is missing and the LXC is to be created',
    apply: async (lab) => {
      const key = join(lab.dir, 'no-pub');
      await writeFile(key, await readFile(lab.host.privateKeyPath, 'utf8'), { mode: 0o600 });
      return editInventory(lab, (y) => sshField(y, 'privateKey', key));
    },
    expect: /connector\.ssh\.publicKey: .*no-pub\.pub does not exist; it is needed to create the connector/,
    validate: 'warns',
  },
  {
    class: 'local prerequisites',
    name: 'known_hosts not writable with trustOnFirstUse',
    apply: async (lab) => {
      const undo = await editInventory(lab, (y) => sshField(y, 'trustOnFirstUse', 'true'));
      immutable(lab.host.knownHostsPath, true);
      return async () => {
        immutable(lab.host.knownHostsPath, false);
        await undo();
      };
    },
    expect: /connector\.ssh\.knownHosts: .* is not writable, so trustOnFirstUse cannot record/,
    validate: 'warns',
  },
  // 2. .env.
  {
    class: '.env',
    name: 'a line without =',
    apply: dotenv('CLOUDFLARE_API_TOKEN', (v) => `# tokens\nCLOUDFLARE_API_TOKEN ${v}\n`),
    expect: /\.env:2:1 line has no `=` after CLOUDFLARE_API_TOKEN/,
  },
  {
    class: '.env',
    name: 'a value without a name, then the variable',
    apply: dotenv('CLOUDFLARE_API_TOKEN', (v) => `=\nCLOUDFLARE_API_TOKEN="${v}\n`),
    expect:
      /\.env:1:1 a value without a name before `=`[\s\S]*\.env:2:\d+ the double quote opened here for CLOUDFLARE_API_TOKEN is never closed/,
  },
  {
    class: '.env',
    name: 'spaces in the name (copied from a shell `export A B=...`)',
    apply: dotenv('PVE_TOKEN_SECRET', (v) => `PVE TOKEN SECRET=${v}\n`),
    expect: /\.env:1:1 `PVE TOKEN SECRET` is not a variable name/,
  },
  // 3. Values that cannot be sent.
  {
    class: 'header values',
    name: 'a zero-width space pasted after the Proxmox secret',
    apply: async (_lab, env) => {
      const value = env.PVE_TOKEN_SECRET!;
      env.PVE_TOKEN_SECRET = `${value}\u200b`;
      return async () => void (env.PVE_TOKEN_SECRET = value);
    },
    expect: /proxmox\.tokenSecret: contains U\+200B \(zero-width space\) at character 37 of 37/,
  },
  {
    class: 'header values',
    name: 'a newline inside the Cloudflare token (wrapped when copied)',
    apply: async (_lab, env) => {
      const value = env.CLOUDFLARE_API_TOKEN!;
      env.CLOUDFLARE_API_TOKEN = `${value.slice(0, 10)}\n${value.slice(10)}`;
      return async () => void (env.CLOUDFLARE_API_TOKEN = value);
    },
    expect: /cloudflare\.apiToken: contains U\+000A \(line feed\) at character 11/,
  },
  {
    class: 'header values',
    name: 'a trailing space inside quotes in the token id',
    apply: (lab) => editInventory(lab, (y) => y.replace('tokenId: ${PVE_TOKEN_ID}', 'tokenId: "${PVE_TOKEN_ID} "')),
    expect: /proxmox\.tokenId: contains U\+0020 \(space\) at character \d+ of \d+ \(at the end\)/,
  },
  // 4. Huge or binary input.
  {
    class: 'binary',
    name: 'a binary file given as the inventory',
    apply: async (lab) => {
      const before = await readFile(lab.inventoryFile);
      const bytes = Buffer.alloc(1_000_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
      await writeFile(lab.inventoryFile, bytes);
      return () => writeFile(lab.inventoryFile, before);
    },
    expect: /the inventory is not a text file \(a NUL byte at offset \d+\)/,
  },
  {
    class: 'binary',
    name: 'the inventory saved as UTF-16 by a Windows editor',
    apply: async (lab) => {
      const before = await readFile(lab.inventoryFile, 'utf8');
      await writeFile(lab.inventoryFile, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(before, 'utf16le')]));
      return () => writeFile(lab.inventoryFile, before);
    },
    expect: /the inventory is not (a text file|valid UTF-8)/,
  },
  // 6. Misleading hints.
  {
    class: 'hints',
    name: 'an unquoted wildcard hostname',
    apply: (lab) => editInventory(lab, (y) => y.replace('hostname: media.example.com', 'hostname: *.example.com')),
    expect: /`\*\.example\.com` is read as a YAML alias .*quote it: "\*\.example\.com"/,
  },
  {
    class: 'hints',
    name: 'an unclosed quote',
    apply: (lab) => editInventory(lab, (y) => y.replace('name: homelab', 'name: "homelab')),
    expect: /inventory\.yaml:\d+:9 YAML syntax error: the double quote opened here is never closed/,
  },
  {
    class: 'hints',
    name: 'a directory given as the inventory',
    apply: async (lab) => {
      const before = await readFile(lab.inventoryFile, 'utf8');
      await rm(lab.inventoryFile);
      await mkdir(lab.inventoryFile);
      return async () => {
        await rm(lab.inventoryFile, { recursive: true });
        await writeFile(lab.inventoryFile, before);
      };
    },
    expect: /the inventory is a directory, not a file/,
  },
  {
    class: 'hints',
    name: 'a symlink loop given as the inventory',
    apply: async (lab) => {
      const before = await readFile(lab.inventoryFile, 'utf8');
      await rm(lab.inventoryFile);
      await symlink(lab.inventoryFile, lab.inventoryFile);
      return async () => {
        await rm(lab.inventoryFile);
        await writeFile(lab.inventoryFile, before);
      };
    },
    expect: /symbolic link that points back to itself/,
  },
  {
    class: 'hints',
    name: 'a syntax error and a bad port elsewhere',
    apply: (lab) => editInventory(lab, (y) => y.replace('name: homelab', 'name: [homelab').replace('port: 8096', 'port: 80960')),
    expect: /YAML syntax error[\s\S]*services\[0\]\.port: must be between 1 and 65535/,
  },
];
