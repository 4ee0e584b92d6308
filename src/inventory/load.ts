import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import type { InventoryIssue } from '../core/errors.js';
import { InventoryError } from '../core/errors.js';
import { checkInventory } from './checks.js';
import { IssueSink } from './issue-sink.js';
import { normaliseInventory } from './normalise.js';
import { inventorySchema } from './schema.js';
import type { Inventory } from './types.js';
import { readYamlSource } from './yaml-source.js';
import { reportZodIssues } from './zod-issues.js';

export interface LoadOptions {
  /** Variables for `${VAR}`; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Read `.env` next to the inventory (the real environment wins); default true. */
  dotenv?: boolean;
}

const SECRET_PATHS = [
  ['proxmox', 'tokenSecret'],
  ['cloudflare', 'apiToken'],
] as const;

/**
 * Reads, expands, validates and normalises the inventory. Throws `InventoryError` with
 * every problem found (each located as file:line:col with a hint); warnings that do not
 * stop a sync are returned in `inventory.warnings`.
 */
export async function loadInventory(file: string, options: LoadOptions = {}): Promise<Inventory> {
  const absolute = resolve(file);
  const fail = (message: string, hint: string, where = file): never => {
    throw new InventoryError([{ file: where, line: 1, column: 1, field: '', message, hint }]);
  };

  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT' ? 'the inventory file does not exist' : `cannot read the inventory (${code ?? (error as Error).message})`,
      code === 'ENOENT' ? 'run `proxflare init` to create one, or pass its path with --inventory' : 'check the file permissions',
    );
  }
  const env = await environment(absolute, options, fail);
  const source = readYamlSource(text, file, env);
  const positions = source.positions;
  const warnings = source.warnings.map((w) => `${file}:${w.position.line}:${w.position.column} ${w.message}`);
  if (source.data === undefined) throw new InventoryError(sortIssues(source.issues.map((i) => located(file, i))));
  if (source.data === null || typeof source.data !== 'object' || Array.isArray(source.data)) {
    return fail(
      source.data === null ? 'the inventory is empty' : 'the inventory must be a map of sections (proxmox:, cloudflare:, ...)',
      'run `proxflare init` for a commented starter inventory',
    );
  }
  const raw = withoutExtensionKeys(source.data as Record<string, unknown>);

  const sink = new IssueSink(positions);
  for (const issue of source.issues) sink.error(issue.field, issue.message, issue.hint, { position: issue.position });
  // A field whose ${VAR} is missing has already been reported; its empty value would only add noise.
  const envBroken = new Set(source.issues.map((i) => i.field));
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, raw, sink, (field) => envBroken.has(field));
  }
  const checkSink = new IssueSink(positions);
  checkInventory(raw, checkSink, source.interpolated);
  for (const issue of checkSink.issues) if (!envBroken.has(issue.field)) sink.issues.push(issue);
  warnings.push(...checkSink.warnings);

  if (sink.issues.length > 0 || !parsed.success) {
    throw new InventoryError(sortIssues(scrubSecrets(sink.issues, raw)));
  }
  return normaliseInventory(parsed.data, {
    file: absolute,
    positions,
    warnings,
    home: env.HOME || homedir(),
  });
}

async function environment(
  inventoryFile: string,
  options: LoadOptions,
  fail: (message: string, hint: string, where?: string) => never,
): Promise<Record<string, string | undefined>> {
  const real = options.env ?? process.env;
  if (options.dotenv === false) return { ...real };
  const dotenvFile = join(dirname(inventoryFile), '.env');
  let text: string;
  try {
    text = await readFile(dotenvFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...real };
    return fail(`cannot read ${dotenvFile}`, 'check its permissions, or remove it and export the variables instead', dotenvFile);
  }
  return { ...parseEnv(text), ...real };
}

function withoutExtensionKeys(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
}

function located(file: string, issue: { field: string; message: string; hint?: string; position: { line: number; column: number } }): InventoryIssue {
  return { file, line: issue.position.line, column: issue.position.column, field: issue.field, message: issue.message, ...(issue.hint ? { hint: issue.hint } : {}) };
}

function sortIssues(issues: InventoryIssue[]): InventoryIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Last line of defence: no message may quote a secret, whatever path it took. */
function scrubSecrets(issues: InventoryIssue[], raw: Record<string, unknown>): InventoryIssue[] {
  const secrets: string[] = [];
  for (const [section, key] of SECRET_PATHS) {
    const value = (raw[section] as Record<string, unknown> | undefined)?.[key];
    if (typeof value === 'string' && value.length >= 6) secrets.push(value);
  }
  if (secrets.length === 0) return issues;
  const scrub = (text: string) => secrets.reduce((out, s) => out.split(s).join('(sensitive)'), text);
  return issues.map((i) => ({ ...i, message: scrub(i.message), ...(i.hint ? { hint: scrub(i.hint) } : {}) }));
}
