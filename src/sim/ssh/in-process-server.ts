/**
 * Fallback SSH server for machines without openssh-server (used by `proxflare demo` and
 * the sandbox when /usr/sbin/sshd is absent): public-key auth for one key, `exec` through
 * `/bin/sh -c` as the current user, direct-tcpip to 127.0.0.1 only (jump-host tests), and
 * the SFTP subset the connector adapter uses for uploads (OPEN/WRITE/FSETSTAT/CLOSE).
 */
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey } from 'ssh2';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface InProcessSshServer {
  port: number;
  close(): Promise<void>;
}

function sameKey(a: ParsedKey, algo: string, data: Buffer): boolean {
  const pub = a.getPublicSSH();
  return a.type === algo && pub.length === data.length && timingSafeEqual(pub, data);
}

function handleConnection(client: Connection, key: ParsedKey, user: string, live: Set<{ kill(): void }>): void {
  client.on('error', () => undefined);
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey' || ctx.username !== user || !sameKey(key, ctx.key.algo, ctx.key.data)) {
      ctx.reject(['publickey']);
      return;
    }
    if (!ctx.signature) {
      ctx.accept(); // the client only asks whether this key would do
      return;
    }
    if (ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) ctx.accept();
    else ctx.reject(['publickey']);
  });
  client.on('tcpip', (accept, reject, info) => {
    // The network rule: only loopback, never anywhere else.
    if (!/^127\./.test(info.destIP) && info.destIP !== 'localhost') {
      reject();
      return;
    }
    const sock = netConnect(info.destPort, info.destIP);
    sock.once('connect', () => {
      const channel = accept();
      sock.pipe(channel).pipe(sock);
      channel.on('close', () => sock.destroy());
      sock.on('close', () => channel.end());
    });
    sock.once('error', () => reject());
  });
  client.on('ready', () => {
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      session.on('exec', (accept, _reject, info) => {
        const stream = accept();
        const child = spawn('/bin/sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
        const handle = { kill: () => child.kill('SIGKILL') };
        live.add(handle);
        stream.pipe(child.stdin!);
        child.stdin!.on('error', () => undefined);
        child.stdout!.pipe(stream, { end: false });
        child.stderr!.pipe(stream.stderr, { end: false });
        let outputs = 2;
        let exitCode: number | null = null;
        let exitSignal: NodeJS.Signals | null = null;
        const finish = () => {
          if (outputs > 0 || (exitCode === null && exitSignal === null)) return;
          live.delete(handle);
          if (exitSignal) stream.exit(exitSignal.replace(/^SIG/, ''), false, '');
          else stream.exit(exitCode ?? 0);
          stream.end();
        };
        child.stdout!.on('end', () => {
          outputs--;
          finish();
        });
        child.stderr!.on('end', () => {
          outputs--;
          finish();
        });
        child.on('exit', (code, signal) => {
          exitCode = code;
          exitSignal = signal;
          finish();
        });
        // The client went away: like sshd, close the command's stdin and let it see EOF.
        stream.on('close', () => child.stdin!.end());
      });
      session.on('sftp', (accept) => {
        const sftp = accept();
        const handles = new Map<number, number>();
        let next = 0;
        sftp.on('OPEN', (reqid, filename, flags, attrs) => {
          if (!(flags & OPEN_MODE.WRITE)) {
            sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, 'this sandbox server only supports uploads');
            return;
          }
          try {
            const fd = openSync(filename, 'w', attrs.mode ?? 0o600);
            const id = next++;
            handles.set(id, fd);
            const handle = Buffer.alloc(4);
            handle.writeUInt32BE(id);
            sftp.handle(reqid, handle);
          } catch (err) {
            sftp.status(reqid, STATUS_CODE.FAILURE, (err as Error).message);
          }
        });
        const fdOf = (handle: Buffer) => (handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined);
        sftp.on('WRITE', (reqid, handle, offset, data) => {
          const fd = fdOf(handle);
          if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
          try {
            writeSync(fd, data, 0, data.length, offset);
            sftp.status(reqid, STATUS_CODE.OK);
          } catch (err) {
            sftp.status(reqid, STATUS_CODE.FAILURE, (err as Error).message);
          }
        });
        sftp.on('FSETSTAT', (reqid, handle, attrs) => {
          const fd = fdOf(handle);
          if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
          try {
            if (attrs.mode !== undefined) fchmodSync(fd, attrs.mode & 0o7777);
            sftp.status(reqid, STATUS_CODE.OK);
          } catch (err) {
            sftp.status(reqid, STATUS_CODE.FAILURE, (err as Error).message);
          }
        });
        sftp.on('CLOSE', (reqid, handle) => {
          const fd = fdOf(handle);
          if (fd === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
          handles.delete(handle.readUInt32BE(0));
          closeSync(fd);
          sftp.status(reqid, STATUS_CODE.OK);
        });
        for (const op of [
          'READ',
          'FSTAT',
          'STAT',
          'LSTAT',
          'OPENDIR',
          'READDIR',
          'REMOVE',
          'RMDIR',
          'MKDIR',
          'RENAME',
          'REALPATH',
          'SETSTAT',
          'READLINK',
          'SYMLINK',
        ] as const) {
          sftp.on(
            op as 'READ',
            ((reqid: number) => sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, `${op} is not supported by the sandbox server`)) as never,
          );
        }
        sftp.on('close', () => {
          for (const fd of handles.values()) closeSync(fd);
          handles.clear();
        });
      });
    });
  });
}

export async function startInProcessSshServer(options: {
  hostKey: string;
  authorizedKey: string;
  user: string;
}): Promise<InProcessSshServer> {
  const parsed = utils.parseKey(options.authorizedKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const live = new Set<{ kill(): void }>();
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: [options.hostKey] }, (client) => {
    clients.add(client);
    client.on('close', () => clients.delete(client));
    handleConnection(client, key, options.user, live);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const child of live) child.kill();
      for (const client of clients) client.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
