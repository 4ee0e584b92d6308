/**
 * One ssh2 connection (optionally through a jump host) with host key pinning, and the
 * few primitives the connector adapter needs: run a script, hold a channel open, upload
 * a file. Every exec and SFTP session counts as a round trip.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'ssh2';
import type { ClientChannel, ConnectConfig, ServerHostKeyAlgorithm } from 'ssh2';
import { ProviderError } from '../core/errors.js';
import { DEFAULT_HOST_KEY_ALGORITHMS, checkHostKey, findEntries, preferredHostKeyAlgorithms, readKnownHosts } from './host-keys.js';
import type { ConnectTarget } from '../ports/connector.js';

/** Where to connect: the port's target (the sandbox is the scripts' business, not the session's). */
export type SessionTarget = Omit<ConnectTarget, 'sandbox'> & { readyTimeoutMs?: number };

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | undefined;
}

function loadKey(privateKey: string): string {
  if (privateKey.includes('-----BEGIN')) return privateKey;
  try {
    return readFileSync(privateKey, 'utf8');
  } catch (err) {
    throw new ProviderError(
      'ssh',
      `read private key ${privateKey}`,
      (err as Error).message,
      'set connector.ssh.privateKey to an existing OpenSSH private key file',
      { cause: err },
    );
  }
}

interface HopOptions {
  host: string;
  port: number;
  user: string;
  key: string;
  knownHosts: string;
  trustOnFirstUse: boolean;
  readyTimeoutMs: number;
  sock?: NodeJS.ReadableStream;
  label: string;
}

function connectHop(options: HopOptions): Promise<Client> {
  const { host, port, user } = options;
  const entries = findEntries(readKnownHosts(options.knownHosts), host, port);
  let refusal: string | undefined;
  const client = new Client();
  const config: ConnectConfig = {
    host,
    port,
    username: user,
    privateKey: options.key,
    readyTimeout: options.readyTimeoutMs,
    keepaliveInterval: 15_000,
    algorithms: {
      serverHostKey: preferredHostKeyAlgorithms(entries, DEFAULT_HOST_KEY_ALGORITHMS) as ServerHostKeyAlgorithm[],
    },
    hostVerifier: (key: Buffer) => {
      const verdict = checkHostKey({
        file: options.knownHosts,
        host,
        port,
        key,
        trustOnFirstUse: options.trustOnFirstUse,
      });
      if (!verdict.ok) refusal = verdict.message;
      return verdict.ok;
    },
  };
  if (options.sock) config.sock = options.sock as ConnectConfig['sock'];
  return new Promise((resolve, reject) => {
    const onError = (err: Error & { level?: string }) => {
      client.removeListener('ready', onReady);
      client.end();
      const operation = `connect to ${options.label} ${user}@${host}:${port}`;
      if (refusal) {
        reject(new ProviderError('ssh', operation, refusal, undefined, { cause: err }));
      } else if (err.level === 'client-authentication') {
        reject(
          new ProviderError(
            'ssh',
            operation,
            `the host refused the key (${err.message})`,
            `check connector.ssh.privateKey and that its public key is in ~${user}/.ssh/authorized_keys on the host`,
            { cause: err },
          ),
        );
      } else {
        reject(
          new ProviderError(
            'ssh',
            operation,
            err.message,
            'check that the host is up, reachable from here (or via connector.ssh.jump) and runs sshd on that port',
            { cause: err },
          ),
        );
      }
    };
    const onReady = () => {
      client.removeListener('error', onError);
      resolve(client);
    };
    client.once('ready', onReady);
    client.once('error', onError);
    client.connect(config);
  });
}

export class SshSession {
  #roundTrips = 0;
  #closed = false;
  readonly #client: Client;
  readonly #jump: Client | undefined;
  /** For messages: user@host:port. */
  readonly label: string;

  private constructor(client: Client, jump: Client | undefined, label: string) {
    this.#client = client;
    this.#jump = jump;
    this.label = label;
    // A dropped connection must not become an unhandled 'error' event.
    client.on('error', () => undefined);
    jump?.on('error', () => undefined);
  }

  static async open(target: SessionTarget): Promise<SshSession> {
    const key = loadKey(target.privateKey);
    const readyTimeoutMs = target.readyTimeoutMs ?? 20_000;
    const common = { key, knownHosts: target.knownHosts, trustOnFirstUse: target.trustOnFirstUse, readyTimeoutMs };
    let jump: Client | undefined;
    let sock: NodeJS.ReadableStream | undefined;
    if (target.jump) {
      jump = await connectHop({ ...common, ...target.jump, label: 'jump host' });
      const via = jump;
      sock = await new Promise<ClientChannel>((resolve, reject) => {
        via.forwardOut('127.0.0.1', 0, target.host, target.port, (err, stream) => {
          if (err) {
            via.end();
            reject(
              new ProviderError(
                'ssh',
                `open a channel from jump host ${target.jump!.host} to ${target.host}:${target.port}`,
                err.message,
                'check that the jump host can reach the connector and allows TCP forwarding (AllowTcpForwarding)',
                { cause: err },
              ),
            );
          } else resolve(stream);
        });
      });
    }
    try {
      const client = await connectHop({ ...common, host: target.host, port: target.port, user: target.user, sock, label: 'connector' });
      return new SshSession(client, jump, `${target.user}@${target.host}:${target.port}`);
    } catch (err) {
      jump?.end();
      throw err;
    }
  }

  get roundTrips(): number {
    return this.#roundTrips;
  }

  #channel(command: string): Promise<ClientChannel> {
    if (this.#closed) return Promise.reject(new Error('the SSH session is closed'));
    this.#roundTrips++;
    return new Promise((resolve, reject) => {
      this.#client.exec(command, (err, stream) => (err ? reject(err) : resolve(stream)));
    });
  }

  /** Run `command`, write `stdin` (then EOF), collect everything until the channel closes. */
  async exec(command: string, stdin?: string | Buffer): Promise<ExecResult> {
    const stream = await this.#channel(command);
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let code: number | null = null;
      let signal: string | undefined;
      stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => errOut.push(d));
      stream.on('exit', (c: number | null, s?: string) => {
        code = c;
        signal = s;
      });
      stream.on('error', reject);
      stream.on('close', () => {
        if (code === null && signal === undefined && this.#closed) {
          reject(new Error('the SSH connection closed while the command was running'));
          return;
        }
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8'), code, signal });
      });
      // Large payloads are written in pieces so back-pressure is respected.
      const payload = stdin === undefined ? Buffer.alloc(0) : Buffer.from(stdin);
      const chunk = 64 * 1024;
      let offset = 0;
      const pump = () => {
        while (offset < payload.length) {
          const piece = payload.subarray(offset, offset + chunk);
          offset += piece.length;
          if (!stream.write(piece)) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
  }

  /**
   * Start a command whose stdout is watched line by line; `until` decides when the
   * caller gets control back. The channel stays open until `finish()`.
   */
  async hold(
    command: string,
    until: (stdoutSoFar: string) => boolean,
  ): Promise<{ stdout: string; closed: boolean; finish: () => Promise<ExecResult> }> {
    const stream = await this.#channel(command);
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    let signal: string | undefined;
    let closed = false;
    const closedPromise = new Promise<void>((resolve) => {
      stream.on('close', () => {
        closed = true;
        resolve();
      });
    });
    stream.on('exit', (c: number | null, s?: string) => {
      code = c;
      signal = s;
    });
    stream.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    await new Promise<void>((resolve) => {
      stream.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
        if (until(stdout)) resolve();
      });
      void closedPromise.then(() => resolve());
    });
    return {
      stdout,
      closed,
      finish: async () => {
        if (!closed) stream.end();
        await closedPromise;
        return { stdout, stderr, code, signal };
      },
    };
  }

  /** Upload a local file over SFTP (one round trip), mode 0600. */
  async upload(localPath: string, remotePath: string): Promise<void> {
    if (this.#closed) throw new Error('the SSH session is closed');
    this.#roundTrips++;
    await new Promise<void>((resolve, reject) => {
      this.#client.sftp((err, sftp) => {
        if (err) {
          reject(err);
          return;
        }
        sftp.fastPut(localPath, remotePath, { mode: 0o600 }, (putErr) => {
          sftp.end();
          if (putErr) reject(putErr);
          else resolve();
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#client.once('close', () => resolve()));
    this.#client.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000).unref())]);
    this.#jump?.end();
  }
}
