import { describe, expect, it } from 'vitest';
import { createLimit } from '../../../src/proxmox/limit.js';

/** A function that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  return { fn: () => (log.push(name), done), release };
}

describe('createLimit', () => {
  it('runs at most `concurrency` at once, in order', async () => {
    const limit = createLimit(2);
    const log: string[] = [];
    const gates = ['a', 'b', 'c'].map((n) => gate(log, n));
    const runs = gates.map((g) => limit(g.fn));
    await Promise.resolve();
    expect(log).toEqual(['a', 'b']);
    gates[0]!.release();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b', 'c']);
    gates[1]!.release();
    gates[2]!.release();
    await Promise.all(runs);
  });

  it('starts `first` calls before the ones queued earlier, among themselves in order', async () => {
    const limit = createLimit(1);
    const log: string[] = [];
    const busy = gate(log, 'busy');
    const running = limit(busy.fn);
    const queued = ['guest1', 'guest2'].map((n) => limit(() => (log.push(n), Promise.resolve())));
    const urgent = ['connector', 'template'].map((n) => limit(() => (log.push(n), Promise.resolve()), { first: true }));
    busy.release();
    await Promise.all([running, ...queued, ...urgent]);
    expect(log).toEqual(['busy', 'connector', 'template', 'guest1', 'guest2']);
  });
});
