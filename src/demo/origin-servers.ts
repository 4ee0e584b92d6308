import { createServer } from 'node:http';
import type { Server } from 'node:http';

export interface OriginServers {
  /** "ip:port" of each server started. */
  listening: string[];
  close(): Promise<void>;
}

/**
 * Tiny HTTP servers standing in for the demo's guests. They listen on loopback aliases
 * (127.0.10.x: Linux routes all of 127.0.0.0/8 to lo), so the demo never probes anything
 * on the user's network.
 */
export async function startOriginServers(targets: { ip: string; port: number; name: string }[], waitMs = 180_000): Promise<OriginServers> {
  // The addresses are fixed, so two simulated homelabs on one machine (two demos, test files run
  // in parallel) take turns: on "address in use" everything taken so far is released and the
  // whole set is tried again until the other lab closes its servers.
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await listenAll(targets);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function listenAll(targets: { ip: string; port: number; name: string }[]): Promise<OriginServers> {
  const servers: Server[] = [];
  const listening: string[] = [];
  const closeAll = () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  for (const t of targets) {
    if (!t.ip.startsWith('127.')) throw new Error(`refusing to serve a demo origin on ${t.ip}: demo origins must be on 127.0.0.0/8`);
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : `${t.name}: hello from the simulated guest at ${t.ip}:${t.port}\n`);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(t.port, t.ip, () => resolve());
      });
    } catch (err) {
      await closeAll();
      throw err;
    }
    servers.push(server);
    listening.push(`${t.ip}:${t.port}`);
  }
  return {
    listening,
    close: async () => {
      await closeAll();
    },
  };
}
