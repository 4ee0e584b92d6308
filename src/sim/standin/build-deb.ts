/**
 * Builds the stand-in cloudflared `.deb` (see ./cloudflared) with `dpkg-deb`, so tests can
 * exercise proxflare's offline install path (a local .deb uploaded over SSH) without the real
 * cloudflared, which cannot be downloaded on the test machines. Built at test time, never committed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';

const run = promisify(execFile);

export const STANDIN_VERSION = '2026.8.2-standin';

/** src/sim/standin of the checkout, wherever this module runs from (tsc does not copy the scripts into dist/). */
export function standinDir(): string {
  return join(packageRoot(import.meta.url), 'src', 'sim', 'standin');
}

export function standinScriptPath(): string {
  const path = join(standinDir(), 'cloudflared');
  if (!existsSync(path)) {
    throw new UserError(
      `the stand-in cloudflared script is missing (looked in ${path}); it ships with the proxflare source checkout, not the npm package`,
    );
  }
  return path;
}

let engineBundle: Promise<string> | undefined;

/**
 * The stand-in's ingress engine (ingress-cli.ts with src/ingress and `yaml`) as one CommonJS file (yaml is CommonJS),
 * bundled from the TypeScript source with esbuild, once per process.
 */
function ingressEngine(): Promise<string> {
  engineBundle ??= (async () => {
    const entry = join(standinDir(), 'ingress-cli.ts');
    if (!existsSync(entry))
      throw new UserError(`the stand-in's ingress engine ${entry} is missing; it ships with the proxflare source checkout`);
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    return result.outputFiles[0]!.text;
  })();
  return engineBundle;
}

/**
 * Writes the stand-in cloudflared to `target` and its ingress engine (`cloudflared-ingress.cjs`)
 * into `engineDir` (default: next to it), with the pinned version and this process's node.
 */
export async function installStandinCloudflared(target: string, options: { version?: string; engineDir?: string } = {}): Promise<void> {
  const version = options.version ?? STANDIN_VERSION;
  const engineDir = options.engineDir ?? dirname(target);
  await mkdir(dirname(target), { recursive: true });
  await mkdir(engineDir, { recursive: true });
  // A pinned version must be what `--version` prints, or upgrade checks would never settle.
  const script = (await readFile(standinScriptPath(), 'utf8'))
    .replace(`VERSION = "${STANDIN_VERSION}"`, `VERSION = "${version}"`)
    .replace('NODE = "node"', `NODE = ${JSON.stringify(process.execPath)}`);
  await writeFile(target, script);
  await chmod(target, 0o755);
  await writeFile(join(engineDir, 'cloudflared-ingress.cjs'), await ingressEngine());
}

function controlFile(version: string): string {
  return [
    'Package: cloudflared',
    `Version: ${version}`,
    'Architecture: all',
    'Maintainer: proxflare tests <proxflare@localhost>',
    // node runs the ingress engine; the e2e containers get the host's node bind-mounted (src/sim/lxc).
    'Depends: python3',
    'Section: net',
    'Priority: optional',
    'Description: proxflare test stand-in for cloudflared (NOT the real cloudflared)',
    ' Answers --version, tunnel ingress validate and tunnel run like cloudflared',
    " (ingress checks run proxflare's own cloudflared port with node), so installs,",
    ' config validation and systemd supervision can be tested without network',
    ' access. It never connects to Cloudflare.',
    '',
  ].join('\n');
}

/** What the test harness tells the stand-in about the simulated edge (see ./cloudflared, "Simulated edge"). */
export interface StandinEdgeConfig {
  /** host:port of the Cloudflare simulator's connector endpoint (CloudflareSim.edge.connectors). */
  edge?: string;
  accessCertsUrl?: string;
}

/**
 * Returns the path of `cloudflared_<version>_all.deb` written into outDir. With `edge`, the package
 * carries /usr/lib/cloudflared-standin/edge.json, so every host (sandbox or container) that
 * installs it dials that simulated edge.
 */
export async function buildStandinDeb(
  outDir: string,
  version: string = STANDIN_VERSION,
  options: { edge?: StandinEdgeConfig } = {},
): Promise<string> {
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(version)) {
    throw new UserError(`Stand-in cloudflared version "${version}" is not a valid Debian version; use e.g. 2026.8.2-standin`);
  }
  await mkdir(outDir, { recursive: true });
  const staging = await mkdtemp(join(outDir, '.standin-deb-'));
  // mkdtemp makes 0700; the package's ./ entry must not carry that onto the host's /.
  await chmod(staging, 0o755);
  try {
    await mkdir(join(staging, 'DEBIAN'), { recursive: true });
    await mkdir(join(staging, 'usr', 'bin'), { recursive: true });
    await writeFile(join(staging, 'DEBIAN', 'control'), controlFile(version));
    await installStandinCloudflared(join(staging, 'usr', 'bin', 'cloudflared'), {
      version,
      engineDir: join(staging, 'usr', 'lib', 'cloudflared-standin'),
    });
    if (options.edge) await writeFile(join(staging, 'usr', 'lib', 'cloudflared-standin', 'edge.json'), `${JSON.stringify(options.edge)}\n`);
    const debPath = join(outDir, `cloudflared_${version}_all.deb`);
    try {
      await run('dpkg-deb', ['--root-owner-group', '--build', staging, debPath]);
    } catch (error) {
      const detail = (error as { stderr?: string }).stderr?.trim() || String(error);
      throw new UserError(`dpkg-deb could not build the stand-in cloudflared package: ${detail}. Install dpkg (apt-get install dpkg).`);
    }
    return debPath;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
