/**
 * One real Debian container booted with systemd: an overlayfs root over the cached base rootfs
 * (the container's own changes land in its `delta` directory), fresh SSH host keys, the caller's authorized keys, a veth on the test bridge, and
 * lxc-start with /sbin/init. "Ready" means systemd finished booting and sshd answers.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { TestBridge } from './network.js';
import { checkInterfaceName } from './network.js';
import { run, SimLxcError, sleep, type RunResult } from './run.js';

export const DEFAULT_LXC_PATH = '/var/lib/proxflare-e2e/containers';
const PATH_IN_CONTAINER = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ContainerSpec {
  /** LXC name, also used on disk; letters, digits and dashes. */
  name: string;
  hostname: string;
  ipv4: string;
  bridge: TestBridge;
  /** Veth name on the host side (at most 15 characters), so leftovers can be found by prefix. */
  vethName: string;
  /** OpenSSH public keys for root, one per line. */
  authorizedKeys: string;
  /** The unpacked base rootfs (ensureBaseRootfs), used read-only as the overlay's lower layer. */
  baseRootfs: string;
  lxcPath?: string;
}

export interface Container {
  name: string;
  hostname: string;
  ipv4: string;
  lxcPath: string;
  /** The overlay's upper layer: everything this container wrote, on top of the base rootfs. */
  rootfs: string;
  /** Host public keys as `type base64` lines. */
  hostKeys: string[];
  /** known_hosts text pinning this container's host keys at its address. */
  knownHosts: string;
}

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Return the result on a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

function checkName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
    throw new SimLxcError(`container name "${name}" must be lowercase letters, digits and dashes`);
  }
}

function lxcConfig(spec: ContainerSpec, delta: string, logFile: string): string {
  return [
    '# Written by proxflare e2e support (src/sim/lxc). Safe to delete with the whole directory.',
    'lxc.include = /usr/share/lxc/config/common.conf',
    'lxc.arch = linux64',
    `lxc.uts.name = ${spec.hostname}`,
    // LXC puts the overlay workdir next to the upper layer (<dir>/work).
    `lxc.rootfs.path = overlay:${spec.baseRootfs}:${delta}`,
    // No AppArmor in these kernels; "generated" would refuse to start.
    'lxc.apparmor.profile = unconfined',
    'lxc.autodev = 1',
    'lxc.tty.max = 1',
    'lxc.pty.max = 64',
    // systemd shuts down on SIGRTMIN+3; LXC's default SIGPWR would be ignored until the timeout.
    'lxc.signal.halt = SIGRTMIN+3',
    'lxc.init.cmd = /sbin/init',
    // The stand-in cloudflared checks ingress with proxflare's own cloudflared port, run by node:
    // the host's node binary, read-only at the same path (the stand-in names it; same Debian 12).
    `lxc.mount.entry = ${process.execPath} ${process.execPath.slice(1)} none bind,ro,create=file 0 0`,
    'lxc.net.0.type = veth',
    `lxc.net.0.link = ${spec.bridge.name}`,
    `lxc.net.0.veth.pair = ${spec.vethName}`,
    'lxc.net.0.name = eth0',
    'lxc.net.0.flags = up',
    // No gateway on purpose: the container can reach the test bridge and nothing beyond it.
    `lxc.net.0.ipv4.address = ${spec.ipv4}/24 ${spec.bridge.subnet}.255`,
    `lxc.log.file = ${logFile}`,
    'lxc.log.level = WARN',
    '',
  ].join('\n');
}

/**
 * Creates `relative` (a directory path) inside the upper layer with the owner and mode it has in
 * the base: an overlay shows the upper directory's attributes, so a 0755 /root would leak through.
 */
async function mkdirLikeBase(base: string, upper: string, relative: string): Promise<void> {
  let path = '';
  for (const part of relative.split('/').filter(Boolean)) {
    path = join(path, part);
    const target = join(upper, path);
    if (existsSync(target)) continue;
    const original = await stat(join(base, path));
    await mkdir(target);
    await chown(target, original.uid, original.gid);
    await chmod(target, original.mode & 0o7777);
  }
}

/** Prepares the container's upper layer and writes the LXC config; does not start anything. */
export async function createContainer(spec: ContainerSpec): Promise<Container> {
  checkName(spec.name);
  checkInterfaceName(spec.vethName);
  if (!/^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(spec.hostname)) {
    throw new SimLxcError(`container hostname "${spec.hostname}" is not a valid hostname`);
  }
  if (!existsSync(join(spec.baseRootfs, 'sbin', 'init'))) {
    throw new SimLxcError(`${spec.baseRootfs} is not a prepared rootfs (no /sbin/init); use ensureBaseRootfs()`);
  }
  const lxcPath = spec.lxcPath ?? DEFAULT_LXC_PATH;
  const dir = join(lxcPath, spec.name);
  if (existsSync(dir)) {
    throw new SimLxcError(`container ${spec.name} already exists in ${lxcPath}; destroy it first`);
  }
  const delta = join(dir, 'delta');
  await mkdir(dir, { recursive: true, mode: 0o755 });
  try {
    await mkdir(delta, { mode: 0o755 });
    await mkdirLikeBase(spec.baseRootfs, delta, 'etc/ssh');
    await mkdirLikeBase(spec.baseRootfs, delta, 'root');
    await writeFile(join(delta, 'etc', 'hostname'), `${spec.hostname}\n`, { mode: 0o644 });
    await writeFile(
      join(delta, 'etc', 'hosts'),
      `127.0.0.1\tlocalhost\n127.0.1.1\t${spec.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
      { mode: 0o644 },
    );
    const sshDir = join(delta, 'root', '.ssh');
    await mkdir(sshDir, { mode: 0o700 });
    const keys = spec.authorizedKeys.trim();
    await writeFile(join(sshDir, 'authorized_keys'), keys === '' ? '' : `${keys}\n`, { mode: 0o600 });
    // Fresh host keys per container, written into the upper layer (the base has none).
    await run('ssh-keygen', ['-A', '-f', delta]);
    const hostKeys = await readHostKeys(delta);
    await writeFile(join(dir, 'config'), lxcConfig(spec, delta, join(dir, 'lxc.log')));
    return {
      name: spec.name,
      hostname: spec.hostname,
      ipv4: spec.ipv4,
      lxcPath,
      rootfs: delta,
      hostKeys,
      knownHosts: hostKeys.map((key) => `${spec.ipv4} ${key}`).join('\n') + '\n',
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function readHostKeys(rootfs: string): Promise<string[]> {
  const sshDir = join(rootfs, 'etc', 'ssh');
  const names = (await readdir(sshDir)).filter((n) => /^ssh_host_.*_key\.pub$/.test(n)).sort();
  const keys: string[] = [];
  for (const name of names) {
    const [type, data] = (await readFile(join(sshDir, name), 'utf8')).trim().split(/\s+/);
    if (type && data) keys.push(`${type} ${data}`);
  }
  return keys;
}

/** lxc-start, then wait until systemd finished booting and sshd sends its banner. */
export async function bootContainer(container: Container, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const started = await run('lxc-start', ['-P', container.lxcPath, '-n', container.name, '-d'], {
    allowFailure: true,
  });
  if (started.code !== 0) {
    throw new SimLxcError(`lxc-start ${container.name} failed`, `${started.stderr}${await lxcLog(container)}`);
  }
  await waitForSystemd(container, deadline);
  await waitForSshBanner(container.ipv4, deadline, container.name);
}

async function lxcLog(container: Container): Promise<string> {
  return readFile(join(container.lxcPath, container.name, 'lxc.log'), 'utf8').catch(() => '');
}

async function waitForSystemd(container: Container, deadline: number): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    const remaining = Math.max(1_000, deadline - Date.now());
    const result = await execInContainer(container, 'systemctl is-system-running --wait', {
      allowFailure: true,
      timeoutMs: remaining,
    }).catch((error: unknown) => ({ code: 1, stdout: '', stderr: String(error) }) as RunResult);
    const state = result.stdout.trim();
    if (state === 'running') return;
    if (state === 'degraded') {
      const failed = await execInContainer(container, 'systemctl --failed --no-legend --plain', { allowFailure: true });
      throw new SimLxcError(`container ${container.name} booted degraded; failed units:`, failed.stdout);
    }
    last = `${state} ${result.stderr}`.trim();
    await sleep(300);
  }
  throw new SimLxcError(`container ${container.name}: systemd did not finish booting in time`, `${last}\n${await lxcLog(container)}`);
}

async function waitForSshBanner(host: string, deadline: number, name: string): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    try {
      const banner = await readBanner(host, 22, 2_000);
      if (banner.startsWith('SSH-2.0-')) return;
      last = `unexpected banner ${JSON.stringify(banner.slice(0, 40))}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(200);
  }
  throw new SimLxcError(`container ${name}: sshd on ${host}:22 did not answer in time (${last})`);
}

function readBanner(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let data = '';
    const finish = (error?: Error): void => {
      socket.destroy();
      if (error) reject(error);
      else resolve(data);
    };
    socket.setTimeout(timeoutMs, () => finish(new Error('timed out')));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      if (data.includes('\n')) finish();
    });
    socket.on('error', (error) => finish(error));
    socket.on('end', () => finish());
  });
}

/** Creates and boots; the container is destroyed again if it does not come up. */
export async function startContainer(spec: ContainerSpec, timeoutMs?: number): Promise<Container> {
  const container = await createContainer(spec);
  try {
    await bootContainer(container, timeoutMs);
    return container;
  } catch (error) {
    await destroyContainer(container);
    throw error;
  }
}

/** Runs a shell command inside the container as root (lxc-attach), with a clean environment. */
export function execInContainer(
  container: Pick<Container, 'name' | 'lxcPath'>,
  command: string,
  options: ExecOptions = {},
): Promise<RunResult> {
  return run(
    'lxc-attach',
    [
      '-P',
      container.lxcPath,
      '-n',
      container.name,
      '--clear-env',
      '--set-var',
      `PATH=${PATH_IN_CONTAINER}`,
      '--set-var',
      'LANG=C.UTF-8',
      '--set-var',
      'HOME=/root',
      '--',
      '/bin/sh',
      '-c',
      command,
    ],
    { input: options.input, timeoutMs: options.timeoutMs ?? 60_000, allowFailure: options.allowFailure },
  );
}

export async function isRunning(container: Pick<Container, 'name' | 'lxcPath'>): Promise<boolean> {
  const result = await run('lxc-info', ['-P', container.lxcPath, '-n', container.name, '-s'], { allowFailure: true });
  return /RUNNING/.test(result.stdout);
}

/** Clean shutdown through systemd, killed if it takes longer than timeoutSeconds. */
export async function stopContainer(container: Pick<Container, 'name' | 'lxcPath'>, timeoutSeconds = 15): Promise<void> {
  if (!(await isRunning(container))) return;
  const result = await run('lxc-stop', ['-P', container.lxcPath, '-n', container.name, '-t', String(timeoutSeconds)], {
    allowFailure: true,
    timeoutMs: (timeoutSeconds + 15) * 1000,
  });
  if (result.code !== 0 && (await isRunning(container))) {
    await run('lxc-stop', ['-P', container.lxcPath, '-n', container.name, '-k'], { allowFailure: true });
  }
}

/** Kills the container if it runs and removes its directory (rootfs, config, log). */
export async function destroyContainer(container: Pick<Container, 'name' | 'lxcPath'>): Promise<void> {
  checkName(container.name);
  if (await isRunning(container)) {
    await run('lxc-stop', ['-P', container.lxcPath, '-n', container.name, '-k'], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  }
  await rm(join(container.lxcPath, container.name), { recursive: true, force: true });
}
