import * as z from 'zod';

/**
 * Cloudflare Access in the inventory: reusable policies proxflare owns (or references by
 * name), service tokens it creates, and per service which policies protect the hostname.
 * Names must resolve; that and the other cross-field rules are in `access-checks.ts`.
 */

const d = (description: string, examples?: unknown[]) => (examples ? { description, examples } : { description });

/** Policy and token names become part of Cloudflare object names (`proxflare:<tunnel>:<name>`). */
const accessName = () =>
  z.string().regex(/^[a-z0-9]([a-z0-9_-]{0,62})$/i, 'must be 1-63 letters, digits, - or _, starting with a letter or digit');

/** Go's time.ParseDuration units, as Access reads session_duration ("300ms", "2h45m"). */
export const SESSION_DURATION = /^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

export const accessPolicySchema = z
  .strictObject({
    existing: z
      .string()
      .min(1)
      .meta(
        d('Reference a reusable policy made elsewhere (the dashboard), by its exact name; proxflare reads it and never changes it.', [
          'Family',
        ]),
      )
      .optional(),
    emails: z
      .array(z.email())
      .meta(d('Allow these email addresses (any login method unless idps is set).', [['me@example.com']]))
      .optional(),
    emailDomains: z
      .array(z.string().regex(/^[a-z0-9.-]+\.[a-z]{2,}$/i, 'is not a domain name'))
      .meta(d('Allow every address of these email domains.', [['example.com']]))
      .optional(),
    serviceTokens: z
      .array(accessName())
      .meta(d('Allow these service tokens (declared under access.serviceTokens), for machines.', [['ci']]))
      .optional(),
    idps: z
      .array(z.string().min(1))
      .meta(
        d('Require a login through one of these identity providers (by name, as in Zero Trust → Settings → Authentication).', [['GitHub']]),
      )
      .optional(),
  })
  .meta(d('A reusable Access policy: either `existing:` or the people/tokens it allows.'));

export const serviceTokenSchema = z.union([
  accessName(),
  z.strictObject({
    name: accessName().meta(d('Token name (Cloudflare name: proxflare:<tunnel>:<name>).', ['ci'])),
    secretFile: z
      .string()
      .min(1)
      .meta(d('Where the client id and secret are written once, at creation (mode 0600, never overwritten).', ['./ci.service-token.json']))
      .optional(),
    duration: z
      .string()
      .regex(/^(forever|[0-9]+h)$/, 'must be a number of hours like 8760h, or forever')
      .meta(d('Validity (Cloudflare default 8760h = one year).', ['8760h']))
      .optional(),
  }),
]);

export const accessSchema = z
  .strictObject({
    teamName: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i, 'must be the Zero Trust team name (the <team> of <team>.cloudflareaccess.com)')
      .meta(d('Zero Trust team name; read from the organization (auth_domain) when omitted.', ['myteam']))
      .optional(),
    policies: z
      .record(accessName(), accessPolicySchema)
      .default({})
      .meta(
        d(
          'Reusable Access policies by name. Each is `existing: "<name in the dashboard>"` (read, never changed), or owned by proxflare with `emails`, `emailDomains`, `idps` (one identity provider) or `serviceTokens` (a policy of its own).',
        ),
      ),
    serviceTokens: z
      .array(serviceTokenSchema)
      .default([])
      .meta(
        d(
          'Service tokens proxflare creates and owns: a name, or { name, secretFile, duration }. The secret is written once, at creation, to secretFile (default ./<name>.service-token.json).',
        ),
      ),
  })
  .meta(d('Cloudflare Access (Zero Trust): who may reach protected hostnames.'));

export const serviceAccessSchema = z
  .union([
    accessName(),
    z.array(accessName()).min(1),
    z.strictObject({
      policies: z
        .array(accessName())
        .min(1)
        .meta(d('Policies (from access.policies), in order of precedence.', [['admins']])),
      sessionDuration: z
        .string()
        .regex(SESSION_DURATION, 'is not a duration like 30m, 24h or 2h45m')
        .meta(d('How long a login lasts (Access default 24h).', ['24h']))
        .optional(),
      publicPaths: z
        .array(z.string())
        .meta(
          d('Paths left public (Access overrides with behavior public), e.g. webhooks; * matches within one segment.', [
            ['/api/webhook/*'],
          ]),
        )
        .optional(),
    }),
  ])
  .meta(d('Protect this hostname with Cloudflare Access: a policy name, a list, or { policies, sessionDuration, publicPaths }.'));
