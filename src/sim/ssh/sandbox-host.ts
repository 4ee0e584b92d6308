/**
 * A throwaway SSH host on 127.0.0.1 whose "filesystem" is a sandbox directory, for the
 * connector's integration tests and `proxflare demo`. It runs a real OpenSSH sshd when
 * /usr/sbin/sshd exists, else an in-process ssh2 server (exec + the SFTP subset the
 * adapter uses). The adapter reaches it with `target().sandbox` set, so its scripts put
 * every managed path under `root` and find stand-ins (systemctl, dpkg, cloudflared) in `binDir`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, symlink, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { ConnectTarget } from '../../ports/connector.js';
import { installStandinCloudflared, standinDir } from '../standin/build-deb.js';
import { generateEd25519Key } from './generate-key.js';
import { startInProcessSshServer } from './in-process-server.js';

export const SSHD_PATH = '/usr/sbin/sshd';

export interface SandboxHost {
  /** Which server answers: a real OpenSSH sshd, or the in-process ssh2 fallback. */
  kind: 'openssh' | 'ssh2-in-process';
  host: '127.0.0.1';
  port: number;
  user: string;
  privateKeyPath: string;
  /** Pre-filled with the host key unless `pinHostKey: false`. */
  knownHostsPath: string;
  /** The host's public key line (`ssh-ed25519 AAAA...`). */
  hostPublicKey: string;
  /** Sandbox root: managed paths live under it. */
  root: string;
  /** Stand-ins, first on PATH for the adapter's scripts. */
  binDir: string;
  /**
   * Where this sandbox's cloudflared serves its metrics (`/ready`): every sandbox shares the
   * machine's loopback, so each gets its own free port instead of config.yml's 127.0.0.1:20241.
   */
  metrics: string;
  /** Everything the sandbox owns. */
  dir: string;
  /** A ConnectTarget for this host, in sandbox mode. */
  target(overrides?: Partial<ConnectTarget>): ConnectTarget;
  close(): Promise<void>;
}

export interface SandboxHostOptions {
  /** Directory to use (created); default a new temp dir, removed on close. */
  dir?: string;
  /** 'auto' (default): OpenSSH when installed, else the in-process server. */
  server?: 'auto' | 'openssh' | 'ssh2';
  /** Put the stand-in cloudflared in binDir (default true); false models a host without it. */
  cloudflared?: boolean;
  /** Write the host key into knownHostsPath (default true). */
  pinHostKey?: boolean;
}

// apt-get, curl and wget stand-ins also keep sandbox scripts off the network and off the test machine's packages.
const STANDINS = ['systemctl', 'dpkg', 'dpkg-query', 'apt-get', 'curl', 'wget'];

/**
 * The system python3, not a version-manager shim (pyenv's shim costs seconds per call, and
 * the stand-ins run several times per operation).
 */
const SYSTEM_PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p));

async function installStandin(source: string, dest: string): Promise<void> {
  let text = await readFile(source, 'utf8');
  if (SYSTEM_PYTHON) text = text.replace(/^#!\/usr\/bin\/env python3\b/, `#!${SYSTEM_PYTHON}`);
  await writeFile(dest, text, { mode: 0o755 });
  await chmod(dest, 0o755);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A port the sandbox's cloudflared binds much later, at each (re)start. Taken below the kernel's
 * ephemeral range (net.ipv4.ip_local_port_range): a port from listen(0) is an ephemeral one, and
 * under load an outgoing connection (an SSH client, an HTTP request) can take it meanwhile, so the
 * stand-in then fails with "Address already in use".
 */
async function freeFixedPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number((await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).trim().split(/\s+/)[0]) || low;
  } catch {
    // Not Linux: keep the usual default.
  }
  const from = 20000;
  const to = Math.max(from + 1000, low) - 1;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  return freePort();
}

/** Resolves once something on the port speaks SSH. */
async function waitForBanner(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('sshd exited');
    const ok = await new Promise<boolean>((resolve) => {
      const sock = netConnect(port, '127.0.0.1');
      const done = (v: boolean) => {
        sock.destroy();
        resolve(v);
      };
      sock.setTimeout(1_000, () => done(false));
      sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
      sock.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sshd did not answer in time');
}

function sshdConfig(opts: { port: number; dir: string; user: string }): string {
  return [
    `Port ${opts.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(opts.dir, 'ssh', 'host_ed25519_key')}`,
    `PidFile ${join(opts.dir, 'ssh', 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(opts.dir, 'ssh', 'authorized_keys')}`,
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'UsePAM no',
    `AllowUsers ${opts.user}`,
    'AllowTcpForwarding yes',
    'Subsystem sftp internal-sftp',
    'MaxSessions 64',
    'MaxStartups 64',
    'LogLevel INFO',
    // bash sources ~/.bashrc for ssh commands only at shell level 1; the sandbox keeps the
    // operator's interactive setup (version managers, prompts) out of the scripts' way.
    'SetEnv SHLVL=1',
    '',
  ].join('\n');
}

async function startOpenSsh(dir: string, user: string): Promise<{ port: number; stop: () => Promise<void> }> {
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => undefined);
  let lastError = '';
  // Another process may grab the port between our probe and sshd's bind: retry a few times.
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const config = join(dir, 'ssh', 'sshd_config');
    await writeFile(config, sshdConfig({ port, dir, user }));
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString('utf8')).slice(-8_000);
    });
    child.on('error', (err) => (stderr += String(err)));
    try {
      await waitForBanner(port, child, 10_000);
      const stop = async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      };
      return { port, stop };
    } catch {
      child.kill('SIGKILL');
      lastError = stderr.trim();
    }
  }
  throw new Error(`could not start ${SSHD_PATH}: ${lastError || 'no output'}`);
}

/** Kill the services the systemctl stand-in started (they run in their own sessions). */
async function stopSandboxServices(root: string): Promise<void> {
  const base = join(root, 'var', 'lib', 'proxflare-standin', 'systemd');
  const units = await readdir(base).catch(() => [] as string[]);
  for (const unit of units) {
    const pid = Number((await readFile(join(base, unit, 'pid'), 'utf8').catch(() => '0')).trim());
    if (pid > 0) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

export async function startSandboxHost(options: SandboxHostOptions = {}): Promise<SandboxHost> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'proxflare-sandbox-')));
  const root = join(dir, 'root');
  const binDir = join(dir, 'bin');
  const sshDir = join(dir, 'ssh');
  await Promise.all([
    mkdir(root, { recursive: true }),
    mkdir(binDir, { recursive: true }),
    mkdir(sshDir, { recursive: true, mode: 0o700 }),
  ]);
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);

  const user = userInfo().username;
  const hostKey = generateEd25519Key();
  const clientKey = generateEd25519Key('proxflare-sandbox');
  const privateKeyPath = join(sshDir, 'id_ed25519');
  const knownHostsPath = join(sshDir, 'known_hosts');
  await writeFile(join(sshDir, 'host_ed25519_key'), hostKey.private, { mode: 0o600 });
  await writeFile(join(sshDir, 'host_ed25519_key.pub'), `${hostKey.public}\n`);
  await writeFile(privateKeyPath, clientKey.private, { mode: 0o600 });
  await writeFile(`${privateKeyPath}.pub`, `${clientKey.public}\n`);
  await writeFile(join(sshDir, 'authorized_keys'), `${clientKey.public}\n`, { mode: 0o600 });

  const standins = standinDir();
  for (const name of STANDINS) {
    if (!existsSync(join(standins, name))) continue;
    await installStandin(join(standins, name), join(binDir, name));
  }
  if (options.cloudflared !== false) {
    // With its ingress engine next to it (the project's cloudflared port, run with node).
    await installStandinCloudflared(join(binDir, 'cloudflared'));
    await installStandin(join(binDir, 'cloudflared'), join(binDir, 'cloudflared'));
  }
  // Packages unpacked into the sandbox (`#!/usr/bin/env python3`) get the system python3 too.
  if (SYSTEM_PYTHON) await symlink(SYSTEM_PYTHON, join(binDir, 'python3'));

  const wanted = options.server ?? 'auto';
  const useOpenSsh = wanted === 'openssh' || (wanted === 'auto' && existsSync(SSHD_PATH));
  let port: number;
  let stopServer: () => Promise<void>;
  let kind: SandboxHost['kind'];
  if (useOpenSsh) {
    ({ port, stop: stopServer } = await startOpenSsh(dir, user));
    kind = 'openssh';
  } else {
    const server = await startInProcessSshServer({ hostKey: hostKey.private, authorizedKey: clientKey.public, user });
    port = server.port;
    stopServer = server.close;
    kind = 'ssh2-in-process';
  }
  if (options.pinHostKey !== false) {
    const [type, blob] = hostKey.public.split(' ');
    await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${type} ${blob}\n`, { mode: 0o600 });
  }

  const metrics = `127.0.0.1:${await freeFixedPort()}`;
  let closed = false;
  const host: SandboxHost = {
    kind,
    host: '127.0.0.1',
    port,
    user,
    privateKeyPath,
    knownHostsPath,
    hostPublicKey: hostKey.public,
    root,
    binDir,
    metrics,
    dir,
    target: (overrides = {}) => ({
      host: '127.0.0.1',
      port,
      user,
      privateKey: privateKeyPath,
      knownHosts: knownHostsPath,
      trustOnFirstUse: false,
      sandbox: { root, binDir, metrics },
      ...overrides,
    }),
    close: async () => {
      if (closed) return;
      closed = true;
      await stopSandboxServices(root);
      await stopServer();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return host;
}
