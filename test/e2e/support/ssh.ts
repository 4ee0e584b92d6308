/**
 * A small ssh2 client for e2e assertions: root login with a throwaway key, the container's host
 * key pinned (never trust-on-first-use in tests), commands with exit codes, SFTP uploads.
 */
import { generateEd25519Key } from '../../../src/sim/ssh/generate-key.js';
import { readFile } from 'node:fs/promises';
import { Client, utils, type ConnectConfig } from 'ssh2';

export interface KeyPair {
  /** OpenSSH private key (PEM-like text). */
  privateKey: string;
  /** `ssh-ed25519 AAAA... comment` line for authorized_keys. */
  publicKey: string;
}

export function generateKeyPair(comment = 'proxflare-e2e'): KeyPair {
  const pair = generateEd25519Key(comment);
  return { privateKey: pair.private, publicKey: pair.public };
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SshSession {
  exec(command: string, input?: string): Promise<CommandResult>;
  /** Like exec, but throws with the host's output on a non-zero exit. */
  check(command: string, input?: string): Promise<string>;
  upload(localPath: string, remotePath: string): Promise<void>;
  writeFile(remotePath: string, content: string, mode: number): Promise<void>;
  close(): void;
}

/** Host key blobs from `type base64` lines (the container's pinned keys). */
function pinnedBlobs(hostKeys: string[]): Buffer[] {
  return hostKeys.map((line) => Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64'));
}

export function connectSsh(options: {
  host: string;
  privateKey: string;
  hostKeys: string[];
  user?: string;
  port?: number;
}): Promise<SshSession> {
  const pinned = pinnedBlobs(options.hostKeys);
  const client = new Client();
  const config: ConnectConfig = {
    host: options.host,
    port: options.port ?? 22,
    username: options.user ?? 'root',
    privateKey: options.privateKey,
    readyTimeout: 20_000,
    hostVerifier: (key: Buffer) => pinned.some((blob) => blob.equals(key)),
  };
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(session(client)));
    client.once('error', (error) => reject(new Error(`ssh root@${options.host}: ${error.message}`)));
    client.connect(config);
  });
}

function session(client: Client): SshSession {
  const exec = (command: string, input?: string): Promise<CommandResult> =>
    new Promise((resolve, reject) => {
      client.exec(command, (error, stream) => {
        if (error) return reject(error);
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        let code = -1;
        stream.on('data', (chunk: Buffer) => out.push(chunk));
        stream.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        stream.on('exit', (exitCode: number | null) => {
          code = exitCode ?? -1;
        });
        stream.on('close', () =>
          resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
        );
        stream.end(input ?? '');
      });
    });

  const sftp = () =>
    new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
      client.sftp((error, wrapper) => (error ? reject(error) : resolve(wrapper))),
    );

  return {
    exec,
    async check(command, input) {
      const result = await exec(command, input);
      if (result.code !== 0) {
        throw new Error(`"${command}" exited with ${result.code}:\n${result.stderr}${result.stdout}`);
      }
      return result.stdout;
    },
    async upload(localPath, remotePath) {
      const wrapper = await sftp();
      try {
        const data = await readFile(localPath);
        await new Promise<void>((resolve, reject) => wrapper.writeFile(remotePath, data, (error) => (error ? reject(error) : resolve())));
      } finally {
        wrapper.end();
      }
    },
    async writeFile(remotePath, content, mode) {
      const wrapper = await sftp();
      try {
        await new Promise<void>((resolve, reject) =>
          wrapper.writeFile(remotePath, content, { mode }, (error) => (error ? reject(error) : resolve())),
        );
        // SFTP applies mode only on create (and through the umask); make it exact.
        await new Promise<void>((resolve, reject) => wrapper.chmod(remotePath, mode, (error) => (error ? reject(error) : resolve())));
      } finally {
        wrapper.end();
      }
    },
    close() {
      client.end();
    },
  };
}
