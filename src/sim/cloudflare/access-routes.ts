import { randomBytes, randomUUID } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import accessSchema from './access-api-schema.json' with { type: 'json' };
import { fail, ok, paginate, type SimResponse } from './envelope.js';
import { AccessSimState, newAud, type SimAccessApp, type SimAccessPolicy, type SimServiceToken } from './access-state.js';
import { RequestValidator } from './request-validator.js';
import { nowIso, PERMISSIONS, type SimState } from './sim-state.js';

/**
 * Cloudflare Access routes of the simulator (account scope), stateful, with the server
 * defaults the real API fills in (terraform-provider-cloudflare#5181 shows a real app
 * response: destinations mirrored from domain, allowed_idps [], tags [], session_duration
 * 24h, app_launcher_visible true, auto_redirect_to_identity false, uid = id).
 * Requests are validated against access-api-schema.json (the Access paths of
 * /work/shared/reference/cloudflare-api-subset.json, patched with `destinations` and the
 * `login_method` rule from SDK 7.3, see its info.x-patches), and so are responses: a
 * response that does not match the schema is a simulator bug and answers 500.
 * Error codes below are not from the reference (real Access error codes were not captured).
 */

type Body = Record<string, unknown>;
type Handler = (p: Record<string, string>, query: URLSearchParams, body: Body) => SimResponse;

export const ACCESS_SCHEMA_DOCUMENT: unknown = accessSchema;

let sharedRequestValidator: RequestValidator | undefined;
/** Routing and request validation for the Access paths. */
export function accessRequestValidator(): RequestValidator {
  sharedRequestValidator ??= new RequestValidator(ACCESS_SCHEMA_DOCUMENT);
  return sharedRequestValidator;
}

const responseValidators = new Map<string, Map<string, ValidateFunction>>();
let responseAjv: Ajv | undefined;

function responseValidator(operationId: string, status: number): ValidateFunction | undefined {
  if (!responseAjv) {
    responseAjv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    responseAjv.addSchema({ $id: 'access', components: (accessSchema as { components: unknown }).components });
    const doc = accessSchema as unknown as {
      paths: Record<
        string,
        Record<string, { operationId?: string; responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>
      >;
    };
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item)) {
        if (!op || typeof op !== 'object' || !op.operationId) continue;
        const byStatus = new Map<string, ValidateFunction>();
        for (const [code, r] of Object.entries(op.responses ?? {})) {
          const schema = r.content?.['application/json']?.schema;
          if (schema) byStatus.set(code, responseAjv.compile(rebase(schema)));
        }
        responseValidators.set(op.operationId, byStatus);
      }
    }
  }
  const byStatus = responseValidators.get(operationId);
  return byStatus?.get(String(status)) ?? byStatus?.get(`${String(status)[0]}XX`);
}

function rebase(node: unknown): object {
  const walk = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(walk);
    if (n !== null && typeof n === 'object') {
      return Object.fromEntries(
        Object.entries(n as Body).map(([k, v]) => [
          k,
          k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `access${v}` : walk(v),
        ]),
      );
    }
    return n;
  };
  return walk(node) as object;
}

/** The 200/201/202 body must match the schema the real API publishes for this operation. */
function checked(operationId: string, handler: Handler): Handler {
  return (p, q, b) => {
    const response = handler(p, q, b);
    const validate = responseValidator(operationId, response.status);
    if (validate && !validate(response.body)) {
      const detail = (validate.errors ?? [])
        .slice(0, 3)
        .map((e) => `${e.instancePath} ${e.message ?? ''}`)
        .join('; ');
      throw new Error(`simulator response of ${operationId} does not match the API schema: ${detail}`);
    }
    return response;
  };
}

const GO_DURATION = /^(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const APPS_EDIT = [PERMISSIONS.accessAppsEdit];
const APPS_READ = [PERMISSIONS.accessAppsRead, PERMISSIONS.accessAppsEdit];
const ORG_READ = [PERMISSIONS.accessOrgRead];
const TOKENS_EDIT = [PERMISSIONS.accessServiceTokensEdit];

/** The Access operations, keyed by the schema's operationId, for the simulator's router. */
export function accessOperations(
  state: SimState,
  access: AccessSimState,
): Record<string, { anyOf: string[]; handle: (s: SimState, p: Record<string, string>, q: URLSearchParams, b: Body) => SimResponse }> {
  const account = (p: Record<string, string>) => {
    if (!state.accounts.has(p['account_id']!)) throw fail(403, 10000, 'Authentication error');
    // Every Access route answers like this until Zero Trust is enabled for the account (guess: code not captured).
    if (!access.organization) throw fail(404, 12006, 'access.api.error.not_found: Zero Trust organization not found');
  };
  const ops: Record<string, { anyOf: string[]; handler: Handler }> = {
    'zero-trust-organization-get-your-zero-trust-organization': {
      anyOf: ORG_READ,
      handler: (p) => {
        account(p);
        return ok({
          ...access.organization,
          is_ui_read_only: false,
          session_duration: '24h',
          auto_redirect_to_identity: false,
          allow_authenticate_via_warp: false,
        });
      },
    },
    'access-identity-providers-list-access-identity-providers': {
      anyOf: ORG_READ,
      handler: (p, q) => {
        account(p);
        const { page, info } = paginate([...access.identityProviders.values()], q, 50);
        return ok(
          page.map((i) => ({ id: i.id, name: i.name, type: i.type, config: {} })),
          info,
        );
      },
    },
    'access-tags-list-tags': {
      anyOf: APPS_READ,
      handler: (p, q) => {
        account(p);
        const { page, info } = paginate([...access.tags.values()], q, 50);
        return ok(
          page.map((t) => ({ ...t, app_count: [...access.apps.values()].filter((a) => a.tags.includes(t.name)).length })),
          info,
        );
      },
    },
    'access-tags-get-a-tag': {
      anyOf: APPS_READ,
      handler: (p) => {
        account(p);
        const tag = access.tags.get(p['tag_name']!);
        if (!tag) throw fail(404, 12006, 'access.api.error.not_found: tag not found');
        return ok({ ...tag, app_count: [...access.apps.values()].filter((a) => a.tags.includes(tag.name)).length });
      },
    },
    'access-tags-create-tag': {
      anyOf: APPS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const name = String(b['name'] ?? '');
        if (name === '') throw fail(400, 12130, 'access.api.error.invalid_request: name is required');
        if (access.tags.has(name)) throw fail(409, 12130, `access.api.error.conflict: tag ${name} already exists`);
        const at = nowIso();
        const tag = { name, created_at: at, updated_at: at };
        access.tags.set(name, tag);
        return ok({ ...tag, app_count: 0 }, undefined, 201);
      },
    },
    'access-policies-list-access-reusable-policies': {
      anyOf: APPS_READ,
      handler: (p, q) => {
        account(p);
        const { page, info } = paginate([...access.policies.values()], q, 25);
        return ok(
          page.map((x) => presentPolicy(access, x)),
          info,
        );
      },
    },
    'access-policies-get-an-access-reusable-policy': {
      anyOf: APPS_READ,
      handler: (p) => {
        account(p);
        return ok(presentPolicy(access, policyOrFail(access, p['policy_id']!)));
      },
    },
    'access-policies-create-an-access-reusable-policy': {
      anyOf: APPS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const at = nowIso();
        const policy: SimAccessPolicy = { id: randomUUID(), ...policyFields(access, b), created_at: at, updated_at: at };
        access.policies.set(policy.id, policy);
        return ok(presentPolicy(access, policy), undefined, 201);
      },
    },
    'access-policies-update-an-access-reusable-policy': {
      anyOf: APPS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const old = policyOrFail(access, p['policy_id']!);
        const policy: SimAccessPolicy = { ...old, ...policyFields(access, b), updated_at: nowIso() };
        access.policies.set(policy.id, policy);
        return ok(presentPolicy(access, policy));
      },
    },
    'access-policies-delete-an-access-reusable-policy': {
      anyOf: APPS_EDIT,
      handler: (p) => {
        account(p);
        const policy = policyOrFail(access, p['policy_id']!);
        const count = access.appCount(policy.id);
        // Guess (not in the reference): a reusable policy still linked to apps cannot be deleted.
        if (count > 0) throw fail(400, 12130, `access.api.error.invalid_request: policy is used by ${count} application(s)`);
        access.policies.delete(policy.id);
        return ok({ id: policy.id }, undefined, 202);
      },
    },
    'access-applications-list-access-applications': {
      anyOf: APPS_READ,
      handler: (p, q) => {
        account(p);
        const { page, info } = paginate([...access.apps.values()], q, 25);
        return ok(
          page.map((a) => presentApp(access, a)),
          info,
        );
      },
    },
    'access-applications-get-an-access-application': {
      anyOf: APPS_READ,
      handler: (p) => {
        account(p);
        return ok(presentApp(access, appOrFail(access, p['app_id']!)));
      },
    },
    'access-applications-add-an-application': {
      anyOf: APPS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const at = nowIso();
        const app: SimAccessApp = { id: randomUUID(), aud: newAud(), ...appFields(access, b), created_at: at, updated_at: at };
        access.apps.set(app.id, app);
        return ok(presentApp(access, app), undefined, 201);
      },
    },
    'access-applications-update-an-access-application': {
      anyOf: APPS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const old = appOrFail(access, p['app_id']!);
        // PUT replaces: what the body leaves out goes back to the server default (guess, §1.6).
        const app: SimAccessApp = { ...old, ...appFields(access, b), updated_at: nowIso() };
        access.apps.set(app.id, app);
        return ok(presentApp(access, app));
      },
    },
    'access-applications-delete-an-access-application': {
      anyOf: APPS_EDIT,
      handler: (p) => {
        account(p);
        const app = appOrFail(access, p['app_id']!);
        access.apps.delete(app.id);
        return ok({ id: app.id }, undefined, 202);
      },
    },
    'access-service-tokens-list-service-tokens': {
      anyOf: TOKENS_EDIT,
      handler: (p, q) => {
        account(p);
        const { page, info } = paginate([...access.serviceTokens.values()], q, 25);
        return ok(page.map(presentToken), info);
      },
    },
    'access-service-tokens-create-a-service-token': {
      anyOf: TOKENS_EDIT,
      handler: (p, _q, b) => {
        account(p);
        const name = String(b['name'] ?? '');
        const duration = typeof b['duration'] === 'string' ? b['duration'] : '8760h';
        if (duration !== 'forever' && !GO_DURATION.test(duration))
          throw fail(400, 12130, 'access.api.error.invalid_request: invalid duration');
        const at = nowIso();
        const hours = duration === 'forever' ? 100 * 8760 : Number(/^(\d+)h$/.exec(duration)?.[1] ?? 8760);
        const token: SimServiceToken = {
          id: randomUUID(),
          name,
          client_id: `${randomBytes(16).toString('hex')}.access`,
          client_secret: randomBytes(32).toString('hex'),
          duration,
          expires_at: new Date(Date.now() + hours * 3600_000).toISOString(),
          created_at: at,
          updated_at: at,
        };
        access.serviceTokens.set(token.id, token);
        // The only answer that carries client_secret.
        return ok({ ...presentToken(token), client_secret: token.client_secret }, undefined, 201);
      },
    },
    'access-service-tokens-delete-a-service-token': {
      anyOf: TOKENS_EDIT,
      handler: (p) => {
        account(p);
        const token = access.serviceTokens.get(p['service_token_id']!);
        if (!token) throw fail(404, 12006, 'access.api.error.not_found: service token not found');
        access.serviceTokens.delete(token.id);
        return ok(presentToken(token));
      },
    },
  };
  return Object.fromEntries(
    Object.entries(ops).map(([id, op]) => [
      id,
      {
        anyOf: op.anyOf,
        handle: (_s: SimState, p: Record<string, string>, q: URLSearchParams, b: Body) => checked(id, op.handler)(p, q, b),
      },
    ]),
  );
}

function policyOrFail(access: AccessSimState, id: string): SimAccessPolicy {
  const p = access.policies.get(id);
  if (!p) throw fail(404, 12006, 'access.api.error.not_found: policy not found');
  return p;
}

function appOrFail(access: AccessSimState, id: string): SimAccessApp {
  const a = access.apps.get(id);
  if (!a) throw fail(404, 12006, 'access.api.error.not_found: application not found');
  return a;
}

function policyFields(access: AccessSimState, b: Body): Omit<SimAccessPolicy, 'id' | 'created_at' | 'updated_at'> {
  const rules = (key: string) => (Array.isArray(b[key]) ? (b[key] as unknown[]) : []);
  for (const rule of [...rules('include'), ...rules('exclude'), ...rules('require')]) {
    const r = rule as Record<string, Record<string, unknown>>;
    if (r['service_token'] && !access.serviceTokens.has(String(r['service_token']['token_id']))) {
      throw fail(400, 12130, 'access.api.error.invalid_request: service token not found');
    }
    if (r['login_method'] && !access.identityProviders.has(String(r['login_method']['id']))) {
      throw fail(400, 12130, 'access.api.error.invalid_request: identity provider not found');
    }
  }
  const session = typeof b['session_duration'] === 'string' && b['session_duration'] !== '' ? b['session_duration'] : '24h';
  if (!GO_DURATION.test(session)) throw fail(400, 12130, 'access.api.error.invalid_request: invalid session_duration');
  return {
    name: String(b['name']),
    decision: String(b['decision']),
    include: rules('include'),
    exclude: rules('exclude'),
    require: rules('require'),
    session_duration: session,
  };
}

function appFields(access: AccessSimState, b: Body): Omit<SimAccessApp, 'id' | 'aud' | 'created_at' | 'updated_at'> {
  if (b['type'] !== 'self_hosted')
    throw fail(400, 12130, 'access.api.error.invalid_request: the simulator supports self_hosted applications only');
  const domain = String(b['domain'] ?? '');
  if (domain === '') throw fail(400, 12130, 'access.api.error.invalid_request: domain is required');
  const policyIds = (Array.isArray(b['policies']) ? b['policies'] : []).map((x) =>
    typeof x === 'string' ? x : String((x as Body)['id'] ?? ''),
  );
  for (const id of policyIds) {
    if (!access.policies.has(id)) throw fail(400, 12130, `access.api.error.invalid_request: policy ${id} not found`);
  }
  const tags = Array.isArray(b['tags']) ? (b['tags'] as string[]) : [];
  // Guess (access-ha-health.md §1.5): an app can only carry Access tags that exist.
  for (const t of tags) if (!access.tags.has(t)) throw fail(400, 12130, `access.api.error.invalid_request: tag ${t} not found`);
  const idps = Array.isArray(b['allowed_idps']) ? (b['allowed_idps'] as string[]) : [];
  for (const i of idps)
    if (!access.identityProviders.has(i)) throw fail(400, 12130, `access.api.error.invalid_request: identity provider ${i} not found`);
  const session = typeof b['session_duration'] === 'string' && b['session_duration'] !== '' ? b['session_duration'] : '24h';
  if (!GO_DURATION.test(session)) throw fail(400, 12130, 'access.api.error.invalid_request: invalid session_duration');
  const sent = Array.isArray(b['destinations']) ? (b['destinations'] as SimAccessApp['destinations']) : [];
  return {
    name: typeof b['name'] === 'string' ? b['name'] : domain,
    type: 'self_hosted',
    domain,
    // The server mirrors `domain` into destinations when none are sent.
    destinations:
      sent.length > 0
        ? sent.map((d) => ({
            type: d.type ?? 'public',
            uri: d.uri,
            ...(d.overrides && d.overrides.length > 0 ? { overrides: d.overrides } : {}),
          }))
        : [{ type: 'public', uri: domain }],
    policyIds,
    allowed_idps: idps,
    tags,
    session_duration: session,
    app_launcher_visible: typeof b['app_launcher_visible'] === 'boolean' ? b['app_launcher_visible'] : true,
    auto_redirect_to_identity: typeof b['auto_redirect_to_identity'] === 'boolean' ? b['auto_redirect_to_identity'] : false,
  };
}

function presentPolicy(access: AccessSimState, p: SimAccessPolicy): Record<string, unknown> {
  return {
    ...p,
    reusable: true,
    app_count: access.appCount(p.id),
    approval_required: false,
    isolation_required: false,
    purpose_justification_required: false,
  };
}

/** Set-like lists come back in reverse order: Cloudflare does not keep their order (terraform-provider-cloudflare#6077). */
const shuffled = (list: string[]) => [...list].sort().reverse();

function presentApp(access: AccessSimState, a: SimAccessApp): Record<string, unknown> {
  return {
    id: a.id,
    uid: a.id,
    aud: a.aud,
    name: a.name,
    type: a.type,
    domain: a.domain,
    destinations: a.destinations,
    self_hosted_domains: a.destinations.map((d) => d.uri),
    allowed_idps: shuffled(a.allowed_idps),
    tags: shuffled(a.tags),
    session_duration: a.session_duration,
    app_launcher_visible: a.app_launcher_visible,
    auto_redirect_to_identity: a.auto_redirect_to_identity,
    enable_binding_cookie: false,
    http_only_cookie_attribute: true,
    options_preflight_bypass: false,
    service_auth_401_redirect: false,
    skip_interstitial: false,
    policies: a.policyIds.flatMap((id, i) => {
      const p = access.policies.get(id);
      return p ? [{ ...presentPolicy(access, p), precedence: i + 1 }] : [];
    }),
    created_at: a.created_at,
    updated_at: a.updated_at,
  };
}

function presentToken(t: SimServiceToken): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    client_id: t.client_id,
    duration: t.duration,
    expires_at: t.expires_at,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export { AccessSimState };
