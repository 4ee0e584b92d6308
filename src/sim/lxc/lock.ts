/**
 * A directory lock shared by processes on this machine (mkdir is atomic). A lock whose holder
 * died is taken over, so a killed test run never blocks the next one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SimLxcError, sleep } from './run.js';

export async function acquireLock(path: string, waitMs = 20 * 60_000): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await mkdir(path);
      const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
      await writeFile(join(path, 'pid'), token);
      let released = false;
      // Releasing twice, or after the lock was taken over, must not remove someone else's lock.
      return async () => {
        if (released) return;
        released = true;
        const holder = await readFile(join(path, 'pid'), 'utf8').catch(() => '');
        if (holder === token) await rm(path, { recursive: true, force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(await readFile(join(path, 'pid'), 'utf8').catch(() => ''), 10);
    const age = await stat(path).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if ((Number.isFinite(owner) && !processAlive(owner)) || (!Number.isFinite(owner) && age > 10_000)) {
      await rm(path, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new SimLxcError(`timed out waiting for ${path} (held by pid ${owner}); remove it if that process is not a proxflare e2e run`);
    }
    await sleep(500);
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
