/**
 * The second half of `npm run build`: links tsc's output (dist/) into a few files that
 * `bin/proxflare.js` and `npm run bench` load, in dist/bundle/.
 *
 * Why: Node 20 loads ES modules one file at a time, and proxflare's dependencies are many
 * small files (zod ~100, yaml ~80, the Cloudflare SDK ~1,100). Each costs a resolve, a read
 * and a compile before any work starts; linked into one file per lazily loaded part, the
 * same code starts in a fraction of the time (numbers in `npm run bench` and the README).
 * Code splitting keeps lazy loading: every `await import()` becomes a chunk of its own, so
 * `--version` still loads no inventory code and `validate` no adapter.
 *
 * dist/bundle/ sits at the same depth as dist/render/ and friends, so `new URL('../../x',
 * import.meta.url)` names the same file from a chunk as from tsc's output. The metafile
 * (which source file went into which chunk) is kept for the lazy-loading test.
 *
 * Left out of the bundle: ssh2 (loads a native addon by relative path, if built) and
 * esbuild itself (a native binary, used by the simulators at run time).
 */
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const DIST = fileURLToPath(new URL('../', import.meta.url));
const OUT = `${DIST}bundle`;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What runs as a process of its own: the CLI, and the benchmark with its plan runner. */
const ENTRIES = {
  main: `${DIST}cli/main.js`,
  bench: `${DIST}bench/bench.js`,
  'bench-plan': `${DIST}bench/bench-plan.js`,
};

await rm(OUT, { recursive: true, force: true });
const result = await build({
  entryPoints: ENTRIES,
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['ssh2', 'cpu-features', 'esbuild'],
  // CommonJS dependencies (yaml, commander, ...) call require() for Node's modules; in an ES
  // module there is no require until one is made.
  banner: { js: "import { createRequire as __proxflareRequire } from 'node:module'; const require = __proxflareRequire(import.meta.url);" },
  // The metafile's paths are then relative to the checkout: dist/cli/main.js, node_modules/zod/...
  absWorkingDir: ROOT,
  metafile: true,
  logLevel: 'warning',
});
await writeFile(`${OUT}/meta.json`, JSON.stringify(result.metafile));
