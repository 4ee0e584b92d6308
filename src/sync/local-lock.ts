import { readFileSync, rmSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../core/errors.js';

export interface Holder {
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
    if (holder && holder.host === me.host && !isAlive(holder.pid) && (await removeStaleLock(path, holder, me))) continue;
    if (Date.now() >= deadline) {
      const who = holder ? `pid ${holder.pid} (${holder.user}@${holder.host}, since ${holder.started})` : 'an unknown process';
      throw new UserError(
        `another proxflare sync of tunnel "${name}" is running: ${who} holds ${path}. Wait for it to finish, or remove the file if that process is gone.`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Remove the lock file only if it still names `stale`. Takers that saw the same dead holder
 * serialize on a second file created with O_EXCL and re-read the lock under it, so the second
 * one finds the first one's live lock and leaves it: a live lock is never deleted. (If a taker
 * dies holding that second file, the next one clears it once its process is gone.)
 */
export async function removeStaleLock(path: string, stale: Holder, me: Holder): Promise<boolean> {
  const mutex = `${path}.takeover`;
  let handle;
  try {
    handle = await open(mutex, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = await readHolder(mutex);
    if (other && other.host === me.host && !isAlive(other.pid)) await rm(mutex, { force: true });
    return false;
  }
  try {
    await handle.writeFile(JSON.stringify(me));
    await handle.close();
    const current = await readHolder(path);
    if (!current || current.pid !== stale.pid || current.started !== stale.started || current.host !== stale.host) return false;
    await rm(path, { force: true });
    return true;
  } finally {
    await rm(mutex, { force: true });
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
