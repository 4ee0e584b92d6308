/**
 * The Debian 12 root filesystem the e2e containers boot from: built once with debootstrap
 * (the only download the e2e tier makes, from the machine's own Debian mirror) and cached as
 * a tarball, so later runs only unpack it.
 *
 * Cache: /var/cache/proxflare-e2e/ (override with PROXFLARE_E2E_CACHE) holds the tarball and,
 * next to it, the tarball unpacked once: the read-only lower layer every container's overlayfs
 * root starts from. Clear it with `rm -rf /var/cache/proxflare-e2e` to force a fresh debootstrap
 * (only while no e2e container is running).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentReporter, type Reporter } from '../../core/reporter.js';
import { acquireLock, processAlive } from './lock.js';
import { run, SimLxcError } from './run.js';

export const DEFAULT_CACHE_DIR = '/var/cache/proxflare-e2e';
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const ROOTFS_SUITE = 'bookworm';
export const ROOTFS_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'openssh-server',
  'dbus',
  'python3',
  'python3-yaml',
  'iproute2',
  'curl',
  'ca-certificates',
] as const;

/** Bump when the preparation below changes, so stale caches are rebuilt rather than reused. */
const PREPARATION_VERSION = 1;

export interface RootfsOptions {
  cacheDir?: string;
  mirror?: string;
  reporter?: Reporter;
  /** debootstrap's time limit; the first run downloads ~100 MB. */
  timeoutMs?: number;
}

export function cacheDirectory(options: { cacheDir?: string } = {}): string {
  return options.cacheDir ?? process.env.PROXFLARE_E2E_CACHE ?? DEFAULT_CACHE_DIR;
}

/**
 * The Debian mirror this machine's apt already uses (so debootstrap contacts nothing new);
 * PROXFLARE_E2E_MIRROR overrides it, deb.debian.org is the fallback.
 */
export async function debianMirror(): Promise<string> {
  const override = process.env.PROXFLARE_E2E_MIRROR;
  if (override) return override;
  const sources: string[] = [];
  if (existsSync('/etc/apt/sources.list')) sources.push(await readFile('/etc/apt/sources.list', 'utf8'));
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const name of (await readdir('/etc/apt/sources.list.d')).sort()) {
      if (name.endsWith('.list') || name.endsWith('.sources')) {
        sources.push(await readFile(join('/etc/apt/sources.list.d', name), 'utf8'));
      }
    }
  }
  return findDebianMirror(sources.join('\n')) ?? DEFAULT_MIRROR;
}

/** Picks the main Debian archive URI from sources.list / deb822 text (not -security, not third-party). */
export function findDebianMirror(text: string): string | undefined {
  const uris: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (oneLine?.[1] && oneLine[2]?.startsWith(ROOTFS_SUITE)) uris.push(oneLine[1]);
    const deb822 = /^URIs:\s*(.+)$/i.exec(line);
    if (deb822?.[1]) uris.push(...deb822[1].split(/\s+/));
  }
  return uris.map((uri) => uri.replace(/\/+$/, '')).find((uri) => /^https?:\/\//.test(uri) && /\/debian$/.test(uri));
}

export function rootfsTarballName(): string {
  const key = createHash('sha256')
    .update(`${ROOTFS_SUITE} ${ROOTFS_PACKAGES.join(',')} v${PREPARATION_VERSION}`)
    .digest('hex')
    .slice(0, 10);
  return `debian-${ROOTFS_SUITE}-systemd-${key}.tar.gz`;
}

/** Returns the cached rootfs tarball, building it with debootstrap first if it is missing. */
export async function ensureRootfs(options: RootfsOptions = {}): Promise<string> {
  const cacheDir = cacheDirectory(options);
  const reporter = options.reporter ?? silentReporter;
  const tarball = join(cacheDir, rootfsTarballName());
  if (existsSync(tarball)) return tarball;
  await mkdir(cacheDir, { recursive: true });
  const release = await acquireLock(join(cacheDir, '.build.lock'));
  try {
    // Another test file may have built it while we waited for the lock.
    if (existsSync(tarball)) return tarball;
    await removeLeftovers(cacheDir);
    const mirror = options.mirror ?? (await debianMirror());
    const buildDir = join(cacheDir, `build-${process.pid}`);
    reporter.step('rootfs', `debootstrap ${ROOTFS_SUITE} from ${mirror} (first run only, about 2 minutes)`);
    try {
      await run('debootstrap', ['--variant=minbase', `--include=${ROOTFS_PACKAGES.join(',')}`, ROOTFS_SUITE, buildDir, mirror], {
        timeoutMs: options.timeoutMs ?? 15 * 60_000,
      });
      await prepareRootfs(buildDir);
      const partial = `${tarball}.partial-${process.pid}`;
      await run('tar', ['--numeric-owner', '-czf', partial, '-C', buildDir, '.'], { timeoutMs: 5 * 60_000 });
      await rename(partial, tarball);
    } catch (error) {
      if (error instanceof SimLxcError) {
        throw new SimLxcError(
          `building the e2e root filesystem failed (mirror ${mirror}); check network access to the mirror ` +
            `or set PROXFLARE_E2E_MIRROR: ${error.message}`,
        );
      }
      throw error;
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
    reporter.done('rootfs', `cached at ${tarball}`);
    return tarball;
  } finally {
    await release();
  }
}

const COMPLETE_MARKER = '.proxflare-complete';

/** Half-built trees (`build-<pid>`, `*.partial-<pid>`) of runs that were killed. */
async function removeLeftovers(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const pid = /^build-(\d+)$/.exec(name)?.[1] ?? /\.partial-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) {
      await rm(join(cacheDir, name), { recursive: true, force: true });
    }
  }
}

/**
 * The cached rootfs unpacked into a directory (built from the tarball on first use). Containers
 * mount it read-only as their overlayfs lower layer, so creating one copies nothing.
 */
export async function ensureBaseRootfs(options: RootfsOptions = {}): Promise<string> {
  const tarball = await ensureRootfs(options);
  const base = tarball.replace(/\.tar\.gz$/, '');
  if (existsSync(join(base, COMPLETE_MARKER))) return base;
  const release = await acquireLock(join(cacheDirectory(options), '.unpack.lock'));
  try {
    if (existsSync(join(base, COMPLETE_MARKER))) return base;
    await removeLeftovers(cacheDirectory(options));
    const partial = `${base}.partial-${process.pid}`;
    await rm(base, { recursive: true, force: true });
    await mkdir(partial, { mode: 0o755 });
    try {
      await run('tar', ['--numeric-owner', '-xzf', tarball, '-C', partial], { timeoutMs: 10 * 60_000 });
      await writeFile(join(partial, COMPLETE_MARKER), `${tarball}\n`);
      await rename(partial, base);
    } finally {
      await rm(partial, { recursive: true, force: true });
    }
    return base;
  } finally {
    await release();
  }
}

/** Makes the debootstrapped tree a reusable template: nothing host- or instance-specific inside. */
async function prepareRootfs(dir: string): Promise<void> {
  const sshDir = join(dir, 'etc', 'ssh');
  for (const name of await readdir(sshDir)) {
    // Every container gets its own host keys; a shared key would make pinning meaningless.
    if (name.startsWith('ssh_host_')) await unlink(join(sshDir, name));
  }
  await writeFile(join(dir, 'etc', 'machine-id'), '');
  await rm(join(dir, 'var', 'lib', 'dbus', 'machine-id'), { force: true });
  // The containers have no route out; timers that try the network would only add noise.
  for (const unit of ['apt-daily.timer', 'apt-daily-upgrade.timer', 'systemd-timesyncd.service']) {
    const link = join(dir, 'etc', 'systemd', 'system', unit);
    await rm(link, { force: true });
    await symlink('/dev/null', link);
  }
  const archives = join(dir, 'var', 'cache', 'apt', 'archives');
  for (const name of await readdir(archives)) {
    if (name.endsWith('.deb')) await unlink(join(archives, name));
  }
  await writeFile(join(dir, 'etc', 'hostname'), 'localhost\n');
}
