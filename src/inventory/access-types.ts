/** Cloudflare Access as the rest of proxflare sees it (validated, defaults applied). */

/** A reusable policy proxflare creates and owns (Cloudflare name `proxflare:<tunnel>:<name>`). */
export interface OwnedPolicySpec {
  kind: 'owned';
  name: string;
  emails: string[];
  emailDomains: string[];
  serviceTokens: string[];
  /** Identity provider names; resolved to ids at plan time. */
  idps: string[];
  /** `access.policies.<name>` */
  field: string;
}

/** A reusable policy made elsewhere, referenced by its exact Cloudflare name; never written. */
export interface ExistingPolicySpec {
  kind: 'existing';
  name: string;
  existing: string;
  field: string;
}

export type PolicySpec = OwnedPolicySpec | ExistingPolicySpec;

export interface ServiceTokenSpec {
  name: string;
  /** Absolute path the client id + secret are written to at creation (0600). */
  secretFile: string;
  duration?: string;
  field: string;
}

export interface AccessSettings {
  teamName?: string;
  policies: Map<string, PolicySpec>;
  serviceTokens: ServiceTokenSpec[];
  field: 'access';
}

/** `access:` of one service. */
export interface ServiceAccess {
  /** Policy names from access.policies, in precedence order. */
  policies: string[];
  sessionDuration?: string;
  publicPaths: string[];
  /** `guests[i].services[j].access` */
  field: string;
}
