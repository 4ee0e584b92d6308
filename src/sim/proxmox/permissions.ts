import { SimError, type SimToken } from './sim-state.js';

/** ACL paths propagate to everything below them (`/` covers all), like `pveum acl modify --propagate 1`. */
export function hasPriv(token: SimToken, path: string, priv: string): boolean {
  for (const [aclPath, privs] of Object.entries(token.acl)) {
    const covers = aclPath === '/' || path === aclPath || path.startsWith(`${aclPath}/`);
    if (covers && privs.includes(priv)) return true;
  }
  return false;
}

/** `['perm', path, privs, 'any', 1]` from the schema; path placeholders filled from the request. */
export type PermCheck = [string, string, string[], ...unknown[]];

export function checkPerm(token: SimToken, check: PermCheck, params: Record<string, unknown>): void {
  const [, rawPath, privs, mode] = check;
  const path = rawPath.replace(/\{([^}]+)\}/g, (_, k: string) => String(params[k] ?? ''));
  if (mode === 'any') {
    if (!privs.some((p) => hasPriv(token, path, p))) throw new SimError(403, `Permission check failed (${path}, ${privs.join('|')})`);
    return;
  }
  for (const p of privs) if (!hasPriv(token, path, p)) throw new SimError(403, `Permission check failed (${path}, ${p})`);
}

export function requirePriv(token: SimToken, path: string, ...anyOf: string[]): void {
  checkPerm(token, ['perm', path, anyOf, anyOf.length > 1 ? 'any' : undefined], {});
}
