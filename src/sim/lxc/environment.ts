/**
 * Everything one e2e run (a test file, or `proxflare demo --real-lxc`) owns: a test bridge, the
 * containers on it, and the knowledge to remove all of them again. Names carry the run's tag
 * (`pf-<tag>-*` containers, `pfbr-<tag>` bridge, `pf<tag>_*` veths), which is how
 * `cleanupStale` finds what an earlier, crashed run with the same tag left behind.
 * A run holds a machine-wide lock on its tag, so a second run with the same tag waits instead of
 * removing the first one's containers; runs with different tags need different subnets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { silentReporter, type Reporter } from '../../core/reporter.js';
import {
  DEFAULT_LXC_PATH,
  destroyContainer,
  execInContainer,
  startContainer as startLxc,
  createContainer as createLxc,
  type Container,
  type ExecOptions,
} from './container.js';
import { createBridge, type TestBridge } from './network.js';
import { acquireLock } from './lock.js';
import { ensureBaseRootfs } from './rootfs.js';
import { hasCommand, run, SimLxcError, type RunResult } from './run.js';

export const REQUIRED_COMMANDS = ['lxc-start', 'lxc-attach', 'lxc-stop', 'lxc-info', 'debootstrap', 'ip', 'ssh-keygen', 'tar', 'dpkg-deb'];

export type Prerequisites = { ok: true } | { ok: false; reason: string };

/** Whether this machine can run the e2e tier: root, plus Debian's lxc, debootstrap, iproute2, openssh-client. */
export async function e2ePrerequisites(): Promise<Prerequisites> {
  if (process.platform !== 'linux') return { ok: false, reason: 'the e2e tier needs Linux (lxc)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'the e2e tier needs root (lxc-start, ip link)' };
  const missing: string[] = [];
  for (const command of REQUIRED_COMMANDS) {
    if (!(await hasCommand(command))) missing.push(command);
  }
  if (missing.length > 0) {
    return {
      ok: false,
      reason: `missing ${missing.join(', ')} (apt-get install lxc debootstrap iproute2 openssh-client dpkg)`,
    };
  }
  if (!existsSync('/usr/share/lxc/config/common.conf')) {
    return { ok: false, reason: '/usr/share/lxc/config/common.conf is missing (apt-get install lxc)' };
  }
  return { ok: true };
}

export interface E2eEnvironmentOptions {
  /** Short lowercase tag naming everything this run creates (1-6 of a-z0-9). Default "e2e". */
  tag?: string;
  /** /24 of the test bridge, first three octets. Default 10.231.0. */
  subnet?: string;
  lxcPath?: string;
  cacheDir?: string;
  mirror?: string;
  reporter?: Reporter;
}

export interface NewContainer {
  hostname: string;
  /** OpenSSH public keys for root. */
  authorizedKeys: string;
  /** Suffix of the LXC name (default: a counter). */
  id?: string | number;
}

export interface E2eEnvironment {
  tag: string;
  prefix: string;
  lxcPath: string;
  /** The unpacked, read-only base rootfs every container overlays. */
  baseRootfs: string;
  bridge: TestBridge;
  /** Unpacks a container (not started yet), with an address on the bridge. */
  createContainer(request: NewContainer): Promise<Container>;
  /** Creates and boots a container; resolves when systemd is up and sshd answers. */
  startContainer(request: NewContainer): Promise<Container>;
  exec(container: Container, command: string, options?: ExecOptions): Promise<RunResult>;
  destroyContainer(container: Container): Promise<void>;
  /** Removes every container and the bridge this environment made. Safe to call twice. */
  cleanup(): Promise<void>;
}

function checkTag(tag: string): void {
  if (!/^[a-z0-9]{1,6}$/.test(tag)) {
    throw new SimLxcError(`e2e tag "${tag}" must be 1-6 lowercase letters or digits`);
  }
}

/**
 * Names are built so that one tag's names never start with another's (the `-`/`_` after the tag
 * cannot occur in a tag), and a veth `pf<tag>_<id>` fits the 15-character limit.
 */
export function namesFor(tag: string): { prefix: string; bridge: string; veth: string } {
  checkTag(tag);
  return { prefix: `pf-${tag}`, bridge: `pfbr-${tag}`, veth: `pf${tag}_` };
}

/** Removes containers, veths and the bridge an earlier run with this tag left behind. */
export async function cleanupStale(options: { tag?: string; lxcPath?: string } = {}): Promise<string[]> {
  const { prefix, bridge, veth } = namesFor(options.tag ?? 'e2e');
  const lxcPath = options.lxcPath ?? DEFAULT_LXC_PATH;
  const removed: string[] = [];
  if (existsSync(lxcPath)) {
    for (const name of await readdir(lxcPath)) {
      if (name.startsWith(`${prefix}-`)) {
        await destroyContainer({ name, lxcPath });
        removed.push(`container ${name}`);
      }
    }
  }
  const links = await run('ip', ['-o', 'link', 'show'], { allowFailure: true });
  for (const match of links.stdout.matchAll(/^\d+:\s+([^:@\s]+)/gm)) {
    const link = match[1];
    if (link && (link === bridge || link.startsWith(veth))) {
      await run('ip', ['link', 'del', link], { allowFailure: true });
      removed.push(`link ${link}`);
    }
  }
  return removed;
}

/**
 * Prepares a run: clears leftovers of a crashed run with the same tag, makes sure the rootfs
 * tarball exists (debootstrap on first use), and creates the test bridge.
 */
export async function createE2eEnvironment(options: E2eEnvironmentOptions = {}): Promise<E2eEnvironment> {
  const tag = options.tag ?? 'e2e';
  const names = namesFor(tag);
  const lxcPath = options.lxcPath ?? DEFAULT_LXC_PATH;
  const reporter = options.reporter ?? silentReporter;
  const lockDir = join(dirname(lxcPath), 'locks');
  await mkdir(lockDir, { recursive: true });
  const lockPath = join(lockDir, tag);
  const releaseTag = await acquireLock(lockPath);
  let bridge: TestBridge;
  let baseRootfs: string;
  try {
    const stale = await cleanupStale({ tag, lxcPath });
    if (stale.length > 0) reporter.warn(`removed leftovers of an earlier e2e run: ${stale.join(', ')}`);
    baseRootfs = await ensureBaseRootfs({ cacheDir: options.cacheDir, mirror: options.mirror, reporter });
    await mkdir(lxcPath, { recursive: true });
    bridge = await createBridge({ name: names.bridge, subnet: options.subnet });
  } catch (error) {
    await releaseTag();
    throw error;
  }

  const containers = new Map<string, Container>();
  let counter = 0;
  let cleaned = false;

  // A test runner that dies without afterAll still should not leave containers running.
  const emergencyCleanup = (): void => {
    if (cleaned) return;
    for (const container of containers.values()) {
      spawnSync('lxc-stop', ['-P', lxcPath, '-n', container.name, '-k'], { stdio: 'ignore', timeout: 20_000 });
      spawnSync('rm', ['-rf', '--one-file-system', join(lxcPath, container.name)], { stdio: 'ignore' });
    }
    spawnSync('ip', ['link', 'del', bridge.name], { stdio: 'ignore' });
    // Only our own lock: another run may already hold this tag's lock after a takeover.
    const holder = spawnSync('cat', [join(lockPath, 'pid')], { encoding: 'utf8' }).stdout ?? '';
    if (holder.startsWith(`${process.pid} `)) spawnSync('rm', ['-rf', lockPath], { stdio: 'ignore' });
  };
  process.once('exit', emergencyCleanup);

  const specFor = (request: NewContainer) => {
    const id = String(request.id ?? ++counter);
    if (!/^[a-z0-9]{1,6}$/.test(id)) throw new SimLxcError(`container id "${id}" must be 1-6 lowercase letters or digits`);
    const vethName = `${names.veth}${id}`;
    if (vethName.length > 15) throw new SimLxcError(`veth name ${vethName} is too long; use a shorter tag or id`);
    return {
      name: `${names.prefix}-${id}`,
      hostname: request.hostname,
      ipv4: bridge.allocateAddress(),
      bridge,
      vethName,
      authorizedKeys: request.authorizedKeys,
      baseRootfs,
      lxcPath,
    };
  };

  return {
    tag,
    prefix: names.prefix,
    lxcPath,
    baseRootfs,
    bridge,
    async createContainer(request) {
      const container = await createLxc(specFor(request));
      containers.set(container.name, container);
      return container;
    },
    async startContainer(request) {
      const spec = specFor(request);
      // Registered before booting, so a boot that hangs is still cleaned up.
      containers.set(spec.name, { ...spec, rootfs: '', hostKeys: [], knownHosts: '' } as Container);
      const container = await startLxc(spec);
      containers.set(container.name, container);
      return container;
    },
    exec(container, command, execOptions) {
      return execInContainer(container, command, execOptions);
    },
    async destroyContainer(container) {
      await destroyContainer(container);
      containers.delete(container.name);
    },
    async cleanup() {
      // A second call must not touch the bridge of a run that took over this tag meanwhile.
      if (cleaned) return;
      const failures: string[] = [];
      for (const container of [...containers.values()]) {
        try {
          await destroyContainer(container);
          containers.delete(container.name);
        } catch (error) {
          failures.push(`${container.name}: ${(error as Error).message}`);
        }
      }
      await bridge.remove();
      cleaned = failures.length === 0;
      if (cleaned) {
        process.removeListener('exit', emergencyCleanup);
        await releaseTag();
      }
      if (failures.length > 0) {
        throw new SimLxcError(`e2e cleanup could not remove every container:\n${failures.join('\n')}`);
      }
    },
  };
}
