import { describe, expect, it } from 'vitest';
import { APPLY_ORDER, inApplyOrder, orderFor, orderIndex } from '../../../src/plan/apply-order.js';
import { EXECUTORS } from '../../../src/apply/executors/index.js';

const row = (kind: string, action: string) => orderIndex({ kind, action, address: `${kind}/x` } as never);

describe('APPLY_ORDER', () => {
  it('puts DNS deletes before the config swap and DNS creates/updates after the restart', () => {
    expect(row('dns', 'delete')).toBeLessThan(row('file', 'update'));
    expect(row('dns', 'delete')).toBeLessThan(row('unit', 'update'));
    expect(row('dns', 'create')).toBeGreaterThan(row('unit', 'create'));
    expect(row('dns', 'update')).toBeGreaterThan(row('unit', 'update'));
  });

  it('creates what a change needs before it: container, tunnel, package, staged files, then the deploy', () => {
    const order = ['lxc', 'tunnel', 'package', 'credentials', 'file', 'unit'].map((k) => row(k, 'create'));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('has an executor for every kind it names, and no (kind, action) twice in one command', () => {
    for (const r of APPLY_ORDER) expect(EXECUTORS[r.kind], r.kind).toBeDefined();
    for (const command of ['sync', 'destroy'] as const) {
      const seen = new Set<string>();
      for (const r of orderFor(command)) {
        for (const a of r.actions) {
          expect(seen.has(`${r.kind} ${a}`), `${command}: ${r.kind} ${a}`).toBe(false);
          seen.add(`${r.kind} ${a}`);
        }
      }
    }
  });

  it('destroy deletes Access after DNS and before cloudflared stops; sync deletes it after the deploy', () => {
    const at = (kind: string, command: 'sync' | 'destroy') =>
      orderIndex({ kind, action: 'delete', address: `${kind}/x` } as never, command);
    for (const kind of ['access-app', 'access-policy', 'service-token']) {
      expect(at(kind, 'destroy')).toBeGreaterThan(at('dns', 'destroy'));
      expect(at(kind, 'destroy')).toBeLessThan(at('unit', 'destroy'));
      expect(at(kind, 'sync')).toBeGreaterThan(row('unit', 'update'));
    }
    expect(at('access-app', 'destroy')).toBeLessThan(at('access-policy', 'destroy'));
    expect(at('access-policy', 'destroy')).toBeLessThan(at('service-token', 'destroy'));
  });

  it('refuses a change without a row instead of dropping it', () => {
    expect(() => row('package', 'delete')).toThrow(/no apply-order row for package delete/);
  });

  it('sorts by row and keeps the planners order within a row', () => {
    const c = (kind: string, action: string, address: string) => ({ kind, action, address }) as never;
    const sorted = inApplyOrder([
      c('dns', 'create', 'dns/b'),
      c('dns', 'delete', 'dns/z'),
      c('dns', 'create', 'dns/a'),
      c('lxc', 'noop', 'lxc/c'),
    ]);
    expect(sorted.map((x: { address: string }) => x.address)).toEqual(['dns/z', 'lxc/c', 'dns/b', 'dns/a']);
  });
});
