import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';

interface Holder {
  pid: number;
  host: string;
  user: string;
  started: string;
}

/**
 * A lock on this machine so two syncs of the same tunnel never interleave. The connector
 * gets its own lock over SSH (flock); this one also covers the steps before the connector exists.
 * Returns the release function. A lock left by a dead process is taken over.
 */
export async function takeLocalLock(name: string, waitMs: number, dir = tmpdir()): Promise<() => Promise<void>> {
  const path = localLockPath(name, dir);
  const me: Holder = { pid: process.pid, host: hostname(), user: userInfo().username, started: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    if (holder && holder.host === me.host && !isAlive(holder.pid)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      const who = holder ? `pid ${holder.pid} (${holder.user}@${holder.host}, since ${holder.started})` : 'an unknown process';
      throw new UserError(
        `another proxflare sync of tunnel "${name}" is running: ${who} holds ${path}. Wait for it to finish, or remove the file if that process is gone.`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function localLockPath(name: string, dir = tmpdir()): string {
  return join(dir, `proxflare-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
}

/** For an abort that cannot wait (a second Ctrl-C): removes the lock now, if this process holds it. */
export function releaseLocalLockNow(name: string, dir = tmpdir()): void {
  const path = localLockPath(name, dir);
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as Holder).pid === process.pid) rmSync(path, { force: true });
  } catch {
    /* not ours, or already gone */
  }
}
