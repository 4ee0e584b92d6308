import { createHash } from 'node:crypto';
import { fail, ok, type SimResponse } from './envelope.js';
import type { SimState } from './sim-state.js';

/**
 * `GET /user/tokens/verify` and `GET /accounts/{account_id}/tokens/verify` ("Test whether a
 * token works", developers.cloudflare.com/api/resources/user/subresources/tokens/methods/verify
 * and .../accounts/subresources/tokens/methods/verify): `result: {id, status: active | disabled |
 * expired, expires_on?, not_before?}`. A user token verifies on the first, an account-owned token
 * only on its account's; anything else is 401 with code 1000 "Invalid API Token". The answer says
 * nothing about permissions (those are probed by reading). Not in the 2024 schema the request
 * validator uses, so served before it.
 */
export function verifyToken(state: SimState, path: string, authorization: string | undefined): SimResponse | undefined {
  const account = /^\/accounts\/([^/]+)\/tokens\/verify$/.exec(path)?.[1];
  if (path !== '/user/tokens/verify' && account === undefined) return undefined;
  const bearer = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
  const token = bearer === undefined ? undefined : state.tokens.get(bearer);
  const owner = token?.owner ?? { kind: 'user' as const };
  const matches =
    token !== undefined && (account === undefined ? owner.kind === 'user' : owner.kind === 'account' && owner.accountId === account);
  if (!matches) return errorResponse(401, 1000, 'Invalid API Token');
  const id = createHash('sha256').update(token.token).digest('hex').slice(0, 32);
  return ok({ id, status: token.status ?? 'active' });
}

function errorResponse(status: number, code: number, message: string): SimResponse {
  const err = fail(status, code, message);
  return { status: err.status, body: { success: false, errors: err.errors, messages: [], result: null } };
}
