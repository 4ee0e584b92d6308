import { describe, expect, it } from 'vitest';
import { ADOPT_ALL, parseAdoptKinds } from '../../../src/plan/ownership.js';

describe('parseAdoptKinds', () => {
  it('reads --adopt as every adoptable kind, and no flag as none', () => {
    expect(parseAdoptKinds(true)).toEqual(ADOPT_ALL);
    expect([...(parseAdoptKinds(true) as Set<string>)]).toEqual(['dns', 'lxc', 'access', 'tunnel']);
    expect((parseAdoptKinds(false) as Set<string>).size).toBe(0);
    expect((parseAdoptKinds(undefined) as Set<string>).size).toBe(0);
  });

  it('reads a comma-separated list of kinds', () => {
    expect([...(parseAdoptKinds('dns') as Set<string>)]).toEqual(['dns']);
    expect([...(parseAdoptKinds(' DNS , dns ') as Set<string>)]).toEqual(['dns']);
  });

  it('takes lxc (issue 17: a community-scripts LXC is adopted by adding our tag), access and tunnel (a remotely-managed one), and refuses unknown kinds with the list', () => {
    expect([...(parseAdoptKinds('lxc') as Set<string>)]).toEqual(['lxc']);
    expect([...(parseAdoptKinds('tunnel') as Set<string>)]).toEqual(['tunnel']);
    expect(parseAdoptKinds('dns,zone')).toBe(
      '"zone" cannot be adopted; --adopt takes dns, lxc, access, tunnel (comma-separated) or nothing for all',
    );
    expect([...(parseAdoptKinds('access') as Set<string>)]).toEqual(['access']);
  });
});
