import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a local server, able to cut every connection
 * once a number of client→server bytes have passed after `armDrop`: a real dropped
 * connection in the middle of an upload, seen by the real client and server.
 */
export interface TcpProxy {
  port: number;
  /** Cut all connections after `bytes` more client→server bytes. */
  armDrop(bytes: number): void;
  drops: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let budget: number | undefined;
  const state = { drops: 0 };
  const cutAll = () => {
    state.drops++;
    for (const s of sockets) s.destroy();
  };
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (budget !== undefined) {
        budget -= chunk.length;
        if (budget <= 0) {
          budget = undefined;
          cutAll();
          return;
        }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    armDrop(bytes) {
      budget = bytes;
    },
    get drops() {
      return state.drops;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
