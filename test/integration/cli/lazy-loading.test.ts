import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Start-up cost is paid by every invocation, so each command loads only what it uses. This
 * runs the built binary in a child process with a module-recording preload and checks which
 * modules it loaded. (How fast that is, is measured by `npm run bench`, never here.)
 *
 * The CLI runs from dist/bundle/ (src/build/bundle.ts): a chunk loaded counts as every source
 * module esbuild put into it, read from the bundle's metafile, so a chunk that carried the
 * Cloudflare SDK along with the inventory code would fail here.
 */
const ROOT = new URL('../../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/proxflare.js');
const RECORDER = join(ROOT, 'test/support/record-modules.mjs');
const run = promisify(execFile);

const HEAVY: Record<string, RegExp> = {
  'the Cloudflare SDK': /\/node_modules\/cloudflare\//,
  ssh2: /\/node_modules\/ssh2\//,
  undici: /\/node_modules\/undici\//,
  'proxmox-api': /\/node_modules\/proxmox-api\//,
  handlebars: /\/node_modules\/handlebars\//,
  ajv: /\/node_modules\/ajv\//,
  'the simulators': /\/dist\/sim\//,
  'the demo': /\/dist\/demo\//,
};

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The source modules with code in a chunk (esbuild also lists those tree-shaken to nothing). */
const inputsOf = (output: Metafile['outputs'][string]) =>
  Object.entries(output.inputs)
    .filter(([, input]) => input.bytesInOutput > 0)
    .map(([path]) => path);
const META = JSON.parse(readFileSync(join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as Metafile;

/** A loaded bundle chunk stands for the source modules in it; other files stand for themselves. */
function sourceModules(loaded: string[]): string[] {
  return loaded.flatMap((m) => {
    const path = m.startsWith('file:') ? fileURLToPath(m) : m;
    const output = META.outputs[relative(ROOT, path)];
    return output ? [m, ...inputsOf(output).map((input) => join(ROOT, input))] : [m];
  });
}

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'proxflare-modules-'));
  const log = join(dir, 'modules.log');
  await run(process.execPath, ['--import', RECORDER, BIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: dir, PROXFLARE_MODULE_LOG: log },
  });
  return sourceModules((await readFile(log, 'utf8')).split('\n').filter(Boolean));
}

function heavyIn(modules: string[]): string[] {
  return Object.entries(HEAVY)
    .filter(([, pattern]) => modules.some((m) => pattern.test(m)))
    .map(([name]) => name);
}

describe('lazy loading', () => {
  it('--version loads commander and nothing of the inventory, the adapters or the simulators', async () => {
    const modules = await modulesLoadedBy(['--version']);
    expect(modules.some((m) => m.endsWith('/dist/bundle/main.js'))).toBe(true); // the CLI runs from the bundle
    expect(modules.some((m) => m.endsWith('/dist/cli/main.js'))).toBe(true); // the recorder and the metafile work
    expect(heavyIn(modules)).toEqual([]);
    expect(modules.filter((m) => /\/node_modules\/(zod|yaml)\//.test(m))).toEqual([]);
  });

  it('--help loads no command implementation', async () => {
    const modules = await modulesLoadedBy(['--help']);
    expect(heavyIn(modules)).toEqual([]);
    expect(modules.filter((m) => /\/dist\/cli\/actions\/|\/node_modules\/(zod|yaml)\//.test(m))).toEqual([]);
  });

  it('validate loads yaml and zod but not the Cloudflare SDK, ssh2, undici, handlebars, ajv or the simulators', async () => {
    const modules = await modulesLoadedBy(['validate', '-i', 'inventory.yaml']);
    expect(modules.some((m) => /\/node_modules\/yaml\//.test(m))).toBe(true);
    expect(modules.some((m) => /\/node_modules\/zod\//.test(m))).toBe(true);
    expect(heavyIn(modules)).toEqual([]);
  });

  it('graph --offline loads none of the adapters: it needs no API', async () => {
    const modules = await modulesLoadedBy(['graph', '--offline', '-i', 'inventory.yaml']);
    expect(modules.some((m) => m.endsWith('/dist/graph/exposure-graph.js'))).toBe(true);
    expect(heavyIn(modules).filter((name) => name !== 'handlebars')).toEqual([]);
  });

  it('the bundle carries only the Cloudflare SDK resources proxflare calls (src/cloudflare/sdk-resources.ts)', () => {
    const bundled = new Set(Object.values(META.outputs).flatMap(inputsOf));
    const resources = new Set(
      [...bundled].map((input) => /^node_modules\/cloudflare\/resources\/([^/.]+)/.exec(input)?.[1]).filter((r) => r !== undefined),
    );
    // `import Cloudflare from 'cloudflare'` anywhere would bring back all ~125 (2.2 MB).
    expect([...resources].sort()).toEqual(['accounts', 'dns', 'user', 'zero-trust', 'zones']);
  });

  it('the recorder catches a CommonJS package required from CommonJS (as ssh2 loads its parts)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-modules-'));
    const log = join(dir, 'modules.log');
    await run(process.execPath, ['--import', RECORDER, '-e', "require('ssh2')"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, PROXFLARE_MODULE_LOG: log },
    });
    expect(heavyIn((await readFile(log, 'utf8')).split('\n'))).toEqual(['ssh2']);
  });
});
