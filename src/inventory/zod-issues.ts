import type * as z from 'zod';
import { didYouMean } from './did-you-mean.js';
import type { IssueSink } from './issue-sink.js';
import { schemaAt } from './json-schema.js';
import type { JsonSchemaNode } from './json-schema.js';
import { splitHint } from './schema.js';
import { childField } from './source-map.js';

type Path = readonly (string | number)[];

function fieldOf(path: Path): string {
  return path.reduce<string>((field, step) => childField(field, step), '');
}

function valueAt(data: unknown, path: Path): unknown {
  let value = data;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string | number, unknown>)[step];
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return /^-?[0-9]+$/.test(value) ? 'a quoted string' : 'a string';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a whole number' : 'a number with a fraction';
  return typeof value === 'boolean' ? 'true/false' : typeof value;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a map (indented key: value lines)',
  array: 'a list (lines starting with "- ")',
};

function example(key: string | number | undefined, node: JsonSchemaNode | undefined): string {
  const sample = node?.examples?.[0] ?? node?.default ?? (node?.enum ? node.enum[0] : undefined);
  const shown = sample === undefined || typeof sample === 'object' ? '...' : String(sample);
  return typeof key === 'string' ? `\`${key}: ${shown}\`` : shown;
}

function describe(node: JsonSchemaNode | undefined): string {
  return node?.description ? ` — ${node.description.replace(/\.$/, '')}` : '';
}

function typeHint(wanted: string, value: unknown, key: string | number | undefined, node: JsonSchemaNode | undefined): string {
  if ((wanted === 'number' || wanted === 'int') && typeof value === 'string' && /^-?[0-9]+$/.test(value)) {
    return 'remove the quotes around the number';
  }
  if (wanted === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value)) {
    return 'write true or false (yes/no/on/off are plain text in YAML 1.2)';
  }
  if (wanted === 'object') return `write it as indented \`key: value\` lines${describe(node)}`;
  if (wanted === 'array') return `write it as a list, one \`- item\` per line${describe(node)}`;
  return `e.g. ${example(key, node)}${describe(node)}`;
}

/** Turns zod's issues into located, human issues with a hint each. */
export function reportZodIssues(
  issues: readonly z.core.$ZodIssue[],
  data: unknown,
  sink: IssueSink,
  skip: (field: string) => boolean,
): void {
  for (const issue of issues) {
    const path = issue.path as Path;
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(schemaAt(path)?.properties ?? {});
      for (const key of issue.keys) {
        const field = childField(fieldOf(path), key);
        if (skip(field)) continue;
        const suggestion = didYouMean(key, known);
        const topLevel = path.length === 0 ? ' (top-level keys starting with x- are ignored, e.g. for YAML anchors)' : '';
        sink.error(
          field,
          `unknown key "${key}"`,
          suggestion ? `did you mean \`${suggestion}\`?` : `allowed here: ${known.join(', ')}${topLevel}`,
          { at: 'key' },
        );
      }
      continue;
    }
    const field = fieldOf(path);
    if (skip(field)) continue;
    const node = schemaAt(path);
    const key = path[path.length - 1];
    const value = valueAt(data, path);
    const custom = splitHint(issue.message);
    if (custom.hint) {
      sink.error(field, custom.message, custom.hint);
      continue;
    }
    switch (issue.code) {
      case 'invalid_type': {
        if (value === undefined) {
          const parent = fieldOf(path.slice(0, -1));
          sink.error(field, 'is required', `add ${example(key, node)} ${parent ? `under ${parent}` : 'at the top level'}${describe(node)}`);
        } else {
          const wanted = issue.expected === 'number' && node?.type === 'integer' ? 'int' : issue.expected;
          const expected = EXPECTED[wanted] ?? wanted;
          const hint = typeHint(wanted, value, key, node);
          sink.error(field, `must be ${expected}, not ${kindOf(value)}`, hint);
        }
        break;
      }
      case 'invalid_value': {
        const options = issue.values.map((v) => String(v));
        const suggestion = typeof value === 'string' ? didYouMean(value, options) : undefined;
        sink.error(
          field,
          `must be one of ${options.map((o) => (o === '' ? '""' : o)).join(', ')}`,
          suggestion ? `did you mean \`${suggestion}\`?` : `e.g. ${example(key, node)}${describe(node)}`,
        );
        break;
      }
      case 'too_small':
      case 'too_big': {
        if (issue.origin === 'number' || issue.origin === 'int') {
          const min = node?.minimum;
          const max = node?.maximum !== undefined && node.maximum < 2 ** 53 - 1 ? node.maximum : undefined;
          const range =
            min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
          sink.error(field, `must be ${range}`, `e.g. ${example(key, node)}${describe(node)}`);
        } else if (issue.code === 'too_small') {
          sink.error(field, 'must not be empty', `e.g. ${example(key, node)}${describe(node)}`);
        } else {
          sink.error(
            field,
            `is too long (at most ${String(issue.maximum)} ${issue.origin === 'array' ? 'items' : 'characters'})`,
            'shorten it',
          );
        }
        break;
      }
      default:
        sink.error(field, custom.message, `e.g. ${example(key, node)}${describe(node)}`);
    }
  }
}
