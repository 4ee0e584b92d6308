import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { takeLocalLock } from '../../../src/sync/local-lock.js';

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
});
