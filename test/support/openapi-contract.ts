/**
 * A schema-validating HTTP proxy for the contract tier: it sits on 127.0.0.1 between the SDK and
 * the Cloudflare simulator, forwards every request unchanged, and checks the request (path and
 * query parameters, JSON body) and the response (status and JSON body) against the OpenAPI
 * subset in test/fixtures/cloudflare/openapi-subset.json. Nothing here comes from the simulator
 * or the adapter: a simulator answer the real API would not give is a violation, exactly like a
 * request the real API would refuse.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import spec from '../fixtures/cloudflare/openapi-subset.json' with { type: 'json' };

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Json;
}

interface Operation {
  operationId: string;
  method: string;
  template: string;
  regex: RegExp;
  pathNames: string[];
  queryNames: Set<string>;
  params: ValidateFunction;
  body: ValidateFunction | undefined;
  bodyRequired: boolean;
  responses: Map<string, ValidateFunction>;
}

export interface ContractViolation {
  operationId: string | undefined;
  method: string;
  path: string;
  direction: 'request' | 'response';
  problems: string[];
}

export interface ContractExchange {
  operationId: string | undefined;
  method: string;
  path: string;
  status: number;
}

const ID = 'cloudflare-contract';

function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node !== null && typeof node === 'object') {
    const out: Json = {};
    for (const [k, v] of Object.entries(node as Json))
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${ID}${v}` : rebase(v);
    return out;
  }
  return node;
}

function newAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes: coerce });
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  ajv.addFormat('hostname', /^(?=.{1,253}$)([a-z0-9_*]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i);
  ajv.addFormat('ipv4', (s: string) => isIP(s) === 4);
  ajv.addFormat('ipv6', (s: string) => isIP(s) === 6);
  ajv.addSchema({ $id: ID, components: (spec as unknown as { components: Json }).components });
  return ajv;
}

function compile(): Operation[] {
  const bodies = newAjv(false);
  const params = newAjv(true);
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries((spec as unknown as { paths: Record<string, Record<string, Json>> }).paths)) {
    const pathNames = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const regex = new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    for (const [method, raw] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const declared = (raw['parameters'] as Parameter[] | undefined) ?? [];
      const properties: Json = {};
      const required: string[] = [];
      for (const p of declared.filter((x) => x.in === 'path' || x.in === 'query')) {
        properties[p.name] = rebase(p.schema ?? {});
        if (p.required) required.push(p.name);
      }
      const requestBody = raw['requestBody'] as { required?: boolean; content?: Record<string, { schema?: Json }> } | undefined;
      const bodySchema = requestBody?.content?.['application/json']?.schema;
      const responses = new Map<string, ValidateFunction>();
      for (const [code, response] of Object.entries(
        (raw['responses'] as Record<string, { content?: Record<string, { schema?: Json }> }>) ?? {},
      )) {
        const schema = response.content?.['application/json']?.schema;
        if (schema) responses.set(code.toUpperCase(), bodies.compile(rebase(schema) as Json));
      }
      ops.push({
        operationId: String(raw['operationId']),
        method: method.toUpperCase(),
        template,
        regex,
        pathNames,
        queryNames: new Set(declared.filter((p) => p.in === 'query').map((p) => p.name)),
        params: params.compile({ type: 'object', properties, required }),
        body: bodySchema ? bodies.compile(rebase(bodySchema) as Json) : undefined,
        bodyRequired: requestBody?.required === true,
        responses,
      });
    }
  }
  // Literal segments before parameters: /dns_records/batch is not /dns_records/{id}.
  return ops.sort((a, b) => a.pathNames.length - b.pathNames.length);
}

let compiled: Operation[] | undefined;

function errorsOf(validate: ValidateFunction): string[] {
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'allOf') continue;
    seen.add(
      `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params['additionalProperty'])})` : ''}`,
    );
  }
  return [...seen].slice(0, 8);
}

/** Problems of one request; the matched operation (undefined: not in the schema at all). */
export function checkRequest(
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
  hasBody: boolean,
): { operation: Operation | undefined; problems: string[] } {
  compiled ??= compile();
  const operation = compiled.find((o) => o.method === method && o.regex.test(path));
  if (!operation) return { operation, problems: [`no operation ${method} ${path} in the schema`] };
  const m = operation.regex.exec(path)!;
  const values: Json = {};
  operation.pathNames.forEach((name, i) => (values[name] = decodeURIComponent(m[i + 1]!)));
  const problems: string[] = [];
  for (const name of new Set(query.keys())) {
    if (!operation.queryNames.has(name)) problems.push(`query parameter ${name} is not declared`);
    const all = query.getAll(name);
    values[name] = all.length === 1 ? all[0] : all;
  }
  if (!operation.params(values)) problems.push(...errorsOf(operation.params).map((e) => `parameters: ${e}`));
  if (!hasBody) {
    if (operation.bodyRequired) problems.push('body: required');
  } else if (operation.body && !operation.body(body)) {
    problems.push(...errorsOf(operation.body).map((e) => `body: ${e}`));
  }
  return { operation, problems };
}

/** Problems of one response to `operation`, by its status (exact code, else 4XX/5XX, else default). */
export function checkResponse(operation: Operation, status: number, contentType: string | undefined, body: unknown): string[] {
  if (!contentType?.includes('application/json')) return [`content-type ${contentType ?? '(none)'} is not application/json`];
  const validate =
    operation.responses.get(String(status)) ?? operation.responses.get(`${String(status)[0]}XX`) ?? operation.responses.get('DEFAULT');
  if (!validate) return [`status ${status} is not a documented answer`];
  return validate(body) ? [] : errorsOf(validate);
}

export interface ContractProxy {
  /** Use as the SDK baseURL. */
  url: string;
  violations: ContractViolation[];
  exchanges: ContractExchange[];
  close(): Promise<void>;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return raw.toString('utf8');
  }
}

/** Starts the proxy in front of `upstream` (e.g. the simulator's url, with its /client/v4 base). */
export async function startContractProxy(upstream: string): Promise<ContractProxy> {
  const target = new URL(upstream);
  const base = target.pathname.replace(/\/$/, '');
  const violations: ContractViolation[] = [];
  const exchanges: ContractExchange[] = [];

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readAll(req);
      const url = new URL(req.url ?? '/', 'http://proxy');
      const path = url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname;
      const method = (req.method ?? 'GET').toUpperCase();
      const { operation, problems } = checkRequest(
        method,
        path,
        url.searchParams,
        raw.length > 0 ? parseJson(raw) : undefined,
        raw.length > 0,
      );
      if (problems.length > 0) violations.push({ operationId: operation?.operationId, method, path, direction: 'request', problems });

      const upstreamReq = httpRequest(
        { host: target.hostname, port: target.port, method, path: req.url, headers: { ...req.headers, host: target.host } },
        (upstreamRes) => {
          void readAll(upstreamRes).then((answer) => {
            const status = upstreamRes.statusCode ?? 0;
            exchanges.push({ operationId: operation?.operationId, method, path, status });
            if (operation) {
              const found = checkResponse(operation, status, upstreamRes.headers['content-type'], parseJson(answer));
              if (found.length > 0)
                violations.push({
                  operationId: operation.operationId,
                  method,
                  path,
                  direction: 'response',
                  problems: [`HTTP ${status}`, ...found],
                });
            }
            res.writeHead(status, upstreamRes.headers);
            res.end(answer);
          });
        },
      );
      // The upstream dropped the connection (a fault): drop ours too, so the client sees the same.
      upstreamReq.on('error', () => {
        exchanges.push({ operationId: operation?.operationId, method, path, status: -1 });
        req.socket.destroy();
      });
      upstreamReq.end(raw);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${base}`,
    violations,
    exchanges,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
