import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeStaleLock, takeLocalLock } from '../../../src/sync/local-lock.js';

describe('the local sync lock', () => {
  it('a second holder waits, then fails naming the first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-lock-'));
    const release = await takeLocalLock('homelab', 1000, dir);
    await expect(takeLocalLock('homelab', 300, dir)).rejects.toThrow(
      new RegExp(`another proxflare sync of tunnel "homelab" is running: pid ${process.pid} \\(`),
    );
    await release();
    const again = await takeLocalLock('homelab', 300, dir);
    await again();
  });

  it('is taken over from a process that died holding it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-lock-'));
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    const path = join(dir, 'proxflare-homelab.lock');
    const { hostname } = await import('node:os');
    await writeFile(path, JSON.stringify({ pid: deadPid, host: hostname(), user: 'x', started: 'then' }));
    const release = await takeLocalLock('homelab', 300, dir);
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
    await release();
  });

  it("a takeover that comes second finds the first one's live lock and leaves it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-lock-'));
    const { hostname } = await import('node:os');
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid!)));
    const path = join(dir, 'proxflare-homelab.lock');
    const stale = { pid: deadPid, host: hostname(), user: 'x', started: 'then' };
    const me = { pid: process.pid, host: hostname(), user: 'me', started: 'now' };
    await writeFile(path, JSON.stringify(stale));
    // Both saw the dead holder; they remove it at the same moment: exactly one does.
    const removed = await Promise.all([removeStaleLock(path, stale, me), removeStaleLock(path, stale, me)]);
    expect(removed.filter(Boolean)).toHaveLength(1);
    // The winner takes the lock; a taker that judged the old holder dead only now comes to remove it.
    const release = await takeLocalLock('homelab', 300, dir);
    expect(await removeStaleLock(path, stale, me)).toBe(false);
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
    await release();
  });
});
