import { isIP } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import apiSchema from './api-schema.json' with { type: 'json' };

/**
 * Validates incoming requests against the OpenAPI subset of the real API (api-schema.json),
 * not against what our client happens to send. Routing also comes from the schema, so an
 * operation the subset does not have is a 404/405, as on the real API.
 */

type JsonObject = Record<string, unknown>;

interface ParamSpec {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: JsonObject;
}

interface OperationSpec {
  operationId: string;
  parameters?: ParamSpec[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: JsonObject }> };
}

export interface MatchedOperation {
  operationId: string;
  template: string;
  params: Record<string, string>;
}

export type RouteMatch =
  { kind: 'found'; operation: MatchedOperation } | { kind: 'no-route' } | { kind: 'method-not-allowed'; allowed: string[] };

interface CompiledOperation {
  operationId: string;
  template: string;
  paramNames: string[];
  validateParams: ValidateFunction;
  queryNames: Set<string>;
  pathNames: Set<string>;
  validateBody: ValidateFunction | undefined;
  bodyRequired: boolean;
}

interface CompiledPath {
  template: string;
  regex: RegExp;
  paramNames: string[];
  methods: Map<string, CompiledOperation>;
}

const SCHEMA_ID = 'cloudflare-api-subset';

/** `#/components/...` inside an operation points at the shared document once compiled separately. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node !== null && typeof node === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(node as JsonObject)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${SCHEMA_ID}${v}` : rebase(v);
    }
    return out;
  }
  return node;
}

function addFormats(ajv: Ajv): void {
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('hostname', /^(?=.{1,253}$)([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i);
  ajv.addFormat('ipv4', (s: string) => isIP(s) === 4);
  ajv.addFormat('ipv6', (s: string) => isIP(s) === 6);
  // The Access schema's email rules use `format: email`; ajv-formats' "fast" pattern, so a
  // malformed address is refused instead of the format being ignored with a warning.
  ajv.addFormat(
    'email',
    /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i,
  );
}

/**
 * Where the 2024 schema is stricter than the real API, the real API wins. `tunnel_ingressRule`
 * requires `hostname`, but a configurations PUT must end with a catch-all rule that has none:
 * "Cloudflare rejects PUTs whose last rule has a hostname" (alchemy.run Cloudflare.Tunnel.Configuration
 * docs), and the dashboard's own configurations carry `{service: 'http_status:404'}` last
 * (access-ha-health.md §5.1 "must end with a catch-all").
 */
function todaysApi<D extends { components: JsonObject }>(doc: D): D {
  const schemas = (doc.components as { schemas?: Record<string, JsonObject> }).schemas;
  const rule = schemas?.['tunnel_ingressRule'] as { required?: string[] } | undefined;
  if (!rule?.required?.includes('hostname')) return doc;
  const patched = { ...rule, required: rule.required.filter((r) => r !== 'hostname') };
  return { ...doc, components: { ...doc.components, schemas: { ...schemas, tunnel_ingressRule: patched } } };
}

export interface ValidationProblem {
  where: 'path' | 'query' | 'body';
  message: string;
}

export class RequestValidator {
  readonly #paths: CompiledPath[] = [];

  /** `document`: an OpenAPI document of the same shape (default: the tunnel/DNS/zone subset). */
  constructor(document: unknown = apiSchema) {
    const doc = todaysApi(document as { paths: Record<string, Record<string, unknown>>; components: JsonObject });
    const bodyAjv = new Ajv({ strict: false, allErrors: true });
    // Query strings are text; the schema's number/boolean types are checked after coercion.
    const paramAjv = new Ajv({ strict: false, allErrors: true, coerceTypes: true, useDefaults: false });
    for (const ajv of [bodyAjv, paramAjv]) {
      addFormats(ajv);
      ajv.addSchema({ $id: SCHEMA_ID, components: doc.components });
    }

    for (const [template, item] of Object.entries(doc.paths)) {
      const paramNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const pattern = template
        .split('/')
        .map((seg) => (/^\{[^}]+\}$/.test(seg) ? '([^/]+)' : seg.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&')))
        .join('/');
      const compiled: CompiledPath = {
        template,
        regex: new RegExp(`^${pattern}$`),
        paramNames,
        methods: new Map(),
      };
      const shared = (item['parameters'] as ParamSpec[] | undefined) ?? [];
      for (const [method, raw] of Object.entries(item)) {
        if (method === 'parameters') continue;
        const op = raw as OperationSpec;
        const params = [...shared, ...(op.parameters ?? [])].filter((p) => p.in === 'path' || p.in === 'query');
        const properties: JsonObject = {};
        const required: string[] = [];
        for (const p of params) {
          properties[p.name] = rebase(p.schema ?? {});
          if (p.required) required.push(p.name);
        }
        const bodySchema = op.requestBody?.content?.['application/json']?.schema;
        compiled.methods.set(method.toUpperCase(), {
          operationId: op.operationId,
          template,
          paramNames,
          validateParams: paramAjv.compile({ type: 'object', properties, required }),
          queryNames: new Set(params.filter((p) => p.in === 'query').map((p) => p.name)),
          pathNames: new Set(params.filter((p) => p.in === 'path').map((p) => p.name)),
          validateBody: bodySchema ? bodyAjv.compile(rebase(bodySchema) as JsonObject) : undefined,
          bodyRequired: op.requestBody?.required === true,
        });
      }
      this.#paths.push(compiled);
    }
    // Literal segments win over parameters (`/dns_records/batch` before `/dns_records/{id}`).
    this.#paths.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  match(method: string, path: string): RouteMatch {
    let allowed: string[] | undefined;
    for (const p of this.#paths) {
      const m = p.regex.exec(path);
      if (!m) continue;
      const op = p.methods.get(method.toUpperCase());
      if (!op) {
        allowed ??= [...p.methods.keys()];
        continue;
      }
      const params: Record<string, string> = {};
      p.paramNames.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      return { kind: 'found', operation: { operationId: op.operationId, template: p.template, params } };
    }
    return allowed ? { kind: 'method-not-allowed', allowed } : { kind: 'no-route' };
  }

  /** Problems with the request per the schema; empty when it conforms. */
  validate(method: string, operation: MatchedOperation, query: URLSearchParams, body: unknown, hasBody: boolean): ValidationProblem[] {
    const path = this.#paths.find((p) => p.template === operation.template);
    const op = path?.methods.get(method.toUpperCase());
    if (!op) return [{ where: 'path', message: `no operation ${method} ${operation.template}` }];
    const problems: ValidationProblem[] = [];

    const values: JsonObject = { ...operation.params };
    for (const name of op.queryNames) {
      const all = query.getAll(name);
      if (all.length > 0) values[name] = all.length === 1 ? all[0] : all;
    }
    if (!op.validateParams(values)) {
      for (const e of op.validateParams.errors ?? []) {
        const name = e.instancePath.replace(/^\//, '').split('/')[0] || String(e.params['missingProperty'] ?? '');
        problems.push({ where: op.pathNames.has(name) ? 'path' : 'query', message: `${name} ${e.message ?? 'is invalid'}` });
      }
    }

    if (!hasBody) {
      if (op.bodyRequired) problems.push({ where: 'body', message: 'request body is required' });
    } else if (op.validateBody && !op.validateBody(body)) {
      problems.push(...summarizeBodyErrors(op.validateBody));
    }
    return problems;
  }
}

/**
 * A oneOf over 20 record types reports every branch's failure; keep the distinct
 * messages, which is enough to name the field at fault.
 */
function summarizeBodyErrors(validate: ValidateFunction): ValidationProblem[] {
  const seen = new Set<string>();
  const out: ValidationProblem[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'allOf') continue;
    if (e.keyword === 'enum' && e.instancePath.endsWith('/type')) continue;
    const message = `${e.instancePath || '(body)'} ${e.message ?? 'is invalid'}`;
    if (seen.has(message)) continue;
    seen.add(message);
    out.push({ where: 'body', message });
  }
  if (out.length === 0) out.push({ where: 'body', message: '(body) does not match any record type' });
  return out.slice(0, 10);
}
