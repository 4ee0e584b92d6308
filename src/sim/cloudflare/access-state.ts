import { createSign, generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { nowIso } from './sim-state.js';

/**
 * Cloudflare Access (Zero Trust) state of the simulator: one organization, self-hosted apps
 * with an `aud`, reusable policies with `app_count`, service tokens whose secret is returned
 * only at creation, identity providers, Access tags, and the team's signing key (served as
 * `/cdn-cgi/access/certs`, used to sign the Access JWTs the edge would add as
 * `Cf-Access-Jwt-Assertion`). Single account: the account id is checked by the routes.
 */

export interface SimAccessApp {
  id: string;
  aud: string;
  name: string;
  type: string;
  domain: string;
  destinations: { type: string; uri: string; overrides?: { behavior: string; path_pattern: string }[] }[];
  /** Reusable policy ids in precedence order. */
  policyIds: string[];
  allowed_idps: string[];
  tags: string[];
  session_duration: string;
  app_launcher_visible: boolean;
  auto_redirect_to_identity: boolean;
  created_at: string;
  updated_at: string;
}

export interface SimAccessPolicy {
  id: string;
  name: string;
  decision: string;
  include: unknown[];
  exclude: unknown[];
  require: unknown[];
  session_duration: string;
  created_at: string;
  updated_at: string;
}

export interface SimServiceToken {
  id: string;
  name: string;
  client_id: string;
  /** Kept so tests can act as a machine client; never returned after creation. */
  client_secret: string;
  duration: string;
  expires_at: string;
  created_at: string;
  updated_at: string;
}

export interface SimIdentityProvider {
  id: string;
  name: string;
  type: string;
}

export interface SimOrganization {
  auth_domain: string;
  name: string;
  created_at: string;
  updated_at: string;
}

export class AccessSimState {
  /** undefined: Zero Trust not enabled on the account yet (needs the dashboard). */
  organization: SimOrganization | undefined;
  readonly apps = new Map<string, SimAccessApp>();
  readonly policies = new Map<string, SimAccessPolicy>();
  readonly serviceTokens = new Map<string, SimServiceToken>();
  readonly identityProviders = new Map<string, SimIdentityProvider>();
  readonly tags = new Map<string, { name: string; created_at: string; updated_at: string }>();
  readonly #keys: { kid: string; privateKey: KeyObject; publicKey: KeyObject };

  constructor(teamName: string | null = 'homelab') {
    const at = nowIso();
    this.organization =
      teamName === null ? undefined : { auth_domain: `${teamName}.cloudflareaccess.com`, name: teamName, created_at: at, updated_at: at };
    // A new Zero Trust organization has One-time PIN login available.
    this.addIdentityProvider('One-time PIN', 'onetimepin');
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#keys = { kid: randomBytes(32).toString('hex'), privateKey, publicKey };
  }

  get teamName(): string | undefined {
    return this.organization?.auth_domain.replace(/\.cloudflareaccess\.com$/, '');
  }

  addIdentityProvider(name: string, type: string): SimIdentityProvider {
    const idp = { id: randomUUID(), name, type };
    this.identityProviders.set(idp.id, idp);
    return idp;
  }

  /** A reusable policy made elsewhere (the dashboard). */
  seedPolicy(name: string, include: unknown[] = [{ everyone: {} }], decision = 'allow'): SimAccessPolicy {
    const at = nowIso();
    const policy = {
      id: randomUUID(),
      name,
      decision,
      include,
      exclude: [],
      require: [],
      session_duration: '24h',
      created_at: at,
      updated_at: at,
    };
    this.policies.set(policy.id, policy);
    return policy;
  }

  appCount(policyId: string): number {
    return [...this.apps.values()].filter((a) => a.policyIds.includes(policyId)).length;
  }

  appByDomain(domain: string): SimAccessApp | undefined {
    return [...this.apps.values()].find((a) => a.domain === domain);
  }

  /** GET https://<team>.cloudflareaccess.com/cdn-cgi/access/certs (JWKS; cloudflared reads `keys`). */
  certs(): unknown {
    const jwk = this.#keys.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    return { keys: [{ kid: this.#keys.kid, kty: 'RSA', alg: 'RS256', use: 'sig', e: jwk.e, n: jwk.n }] };
  }

  /**
   * An Access JWT as the edge adds it after a login: RS256 with the team key, `iss` the team
   * domain, `aud` the app's audience tags (an array). Options let tests forge bad tokens.
   */
  signJwt(options: {
    aud: string | string[];
    email?: string;
    expiresInSeconds?: number;
    issuer?: string;
    key?: 'team' | 'foreign';
  }): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', kid: this.#keys.kid, typ: 'JWT' };
    const payload = {
      aud: Array.isArray(options.aud) ? options.aud : [options.aud],
      email: options.email ?? 'me@example.com',
      exp: now + (options.expiresInSeconds ?? 3600),
      iat: now,
      nbf: now,
      iss: options.issuer ?? `https://${this.organization?.auth_domain ?? 'unknown.cloudflareaccess.com'}`,
      type: 'app',
      identity_nonce: randomBytes(8).toString('hex'),
      sub: randomUUID(),
      country: 'DE',
    };
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const input = `${b64(header)}.${b64(payload)}`;
    const key = options.key === 'foreign' ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey : this.#keys.privateKey;
    const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
    return `${input}.${signature}`;
  }
}

export function newAud(): string {
  return randomBytes(32).toString('hex');
}
