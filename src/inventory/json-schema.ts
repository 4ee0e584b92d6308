import * as z from 'zod';
import { inventorySchema } from './schema.js';

export interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  examples?: unknown[];
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  [key: string]: unknown;
}

let cached: JsonSchemaNode | undefined;

function generate(): JsonSchemaNode {
  // draft-07 is what yaml-language-server and most editors understand fully.
  const schema = z.toJSONSchema(inventorySchema, { io: 'input', target: 'draft-07' }) as JsonSchemaNode;
  return {
    ...schema,
    // Top-level x-* keys are ignored, so users can park YAML anchors there (as in docker compose).
    patternProperties: { '^x-': {} },
  };
}

const INTERPOLATED = { type: 'string', pattern: '\\$\\{', description: 'A ${VAR} reference, expanded when proxflare loads the file.' };

/**
 * Editors validate the file before `${VAR}` expansion, so wherever a reference is
 * plausible (patterned strings, numbers, booleans) the published schema also accepts
 * a string containing `${`; proxflare itself checks the expanded value.
 */
function acceptReferences(node: JsonSchemaNode): JsonSchemaNode {
  const out: JsonSchemaNode = { ...node };
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, acceptReferences(v)]));
  if (node.items) out.items = acceptReferences(node.items);
  if (typeof node.pattern === 'string') out.pattern = `(?:${node.pattern})|\\$\\{`;
  if (node.type === 'integer' || node.type === 'number' || node.type === 'boolean') {
    const { description, default: fallback, examples, ...rest } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      ...(fallback !== undefined ? { default: fallback } : {}),
      ...(examples !== undefined ? { examples } : {}),
      anyOf: [rest, INTERPOLATED],
    };
  }
  return out;
}

/** The JSON Schema of inventory.yaml, generated from the zod schema (editors, `inventory.schema.json`). */
export function inventoryJsonSchema(): object {
  cached ??= generate();
  return acceptReferences(cached);
}

/** The schema node for a field path, or undefined when the path leaves the schema. */
export function schemaAt(path: readonly (string | number)[]): JsonSchemaNode | undefined {
  cached ??= generate();
  let node: JsonSchemaNode | undefined = cached;
  for (const step of path) {
    if (!node) return undefined;
    node = typeof step === 'number' ? node.items : node.properties?.[step];
  }
  return node;
}

function typeLabel(node: JsonSchemaNode): string {
  if (Array.isArray(node.anyOf))
    return [...new Set((node.anyOf as JsonSchemaNode[]).flatMap((n) => typeLabel(n).split(' | ')))].join(' | ');
  if ('const' in node) return String(node.const);
  if (node.enum) return node.enum.map((v) => (v === '' ? '""' : String(v))).join(' | ');
  const type = Array.isArray(node.type) ? node.type.join(' | ') : (node.type ?? 'any');
  if (type === 'integer' && node.minimum !== undefined && node.maximum !== undefined && node.maximum < 2 ** 31) {
    return `integer ${node.minimum}–${node.maximum}`;
  }
  if (type === 'array' && node.items) return `list of ${node.items.type === 'object' ? 'maps' : typeLabel(node.items)}`;
  if (type === 'object') return 'map';
  return type;
}

function defaultLabel(node: JsonSchemaNode, required: boolean): string {
  if (node.default !== undefined) {
    if (typeof node.default === 'object' && node.default !== null) return '';
    return `\`${node.default === '' ? '""' : String(node.default)}\``;
  }
  return required ? '**required**' : '';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A Markdown table of every field (field, type, default, description), for the README. */
export function inventoryReferenceMarkdown(): string {
  const rows: string[] = ['| Field | Type | Default | Description |', '| --- | --- | --- | --- |'];
  const visit = (node: JsonSchemaNode, prefix: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const field = prefix ? `${prefix}.${key}` : key;
      const required = node.required?.includes(key) ?? false;
      rows.push(`| \`${field}\` | ${cell(typeLabel(child))} | ${defaultLabel(child, required)} | ${cell(child.description ?? '')} |`);
      if (child.properties) visit(child, field);
      if (child.items?.properties) visit(child.items, `${field}[]`);
    }
  };
  cached ??= generate();
  visit(cached, '');
  return `${rows.join('\n')}\n`;
}
