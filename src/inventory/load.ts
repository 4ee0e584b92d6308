import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { InventoryIssue } from '../core/errors.js';
import { InventoryError } from '../core/errors.js';
import { checkInventory } from './checks.js';
import { parseDotenv } from './dotenv.js';
import { checkHeaderValues } from './header-values.js';
import { decodeInputText, shortenQuoted } from './input-text.js';
import { IssueSink } from './issue-sink.js';
import { normaliseInventory } from './normalise.js';
import { inventorySchema } from './schema.js';
import type { Inventory } from './types.js';
import type { YamlSource } from './yaml-source.js';
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

  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    const { message, hint } = unreadable(error as NodeJS.ErrnoException, 'the inventory');
    return fail(message, hint);
  }
  const decoded = decodeInputText(bytes, 'the inventory');
  if (!decoded.ok) {
    throw new InventoryError([
      { file, line: decoded.line, column: decoded.column, field: '', message: decoded.message, hint: decoded.hint },
    ]);
  }
  const text = decoded.text;
  const { env, issues: dotenvIssues } = await environment(absolute, options, fail);
  const source = readYamlSource(text, file, env);
  const positions = source.positions;
  const warnings = source.warnings.map((w) => `${file}:${w.position.line}:${w.position.column} ${w.message}`);
  if (source.data === undefined) {
    const syntax = source.issues.map((i) => located(file, i));
    throw new InventoryError(finish([...dotenvIssues, ...sortIssues([...syntax, ...problemsPastSyntaxErrors(source)])]));
  }
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
  // A value HTTP cannot carry is reported once, with the character; its other complaints would mislead.
  for (const field of checkHeaderValues(raw, sink)) envBroken.add(field);
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) {
    reportZodIssues(parsed.error.issues, raw, sink, (field) => envBroken.has(field));
  }
  const checkSink = new IssueSink(positions);
  checkInventory(raw, checkSink, source.interpolated);
  for (const issue of checkSink.issues) if (!envBroken.has(issue.field)) sink.issues.push(issue);
  warnings.push(...checkSink.warnings);

  if (sink.issues.length > 0 || !parsed.success || dotenvIssues.length > 0) {
    throw new InventoryError(finish([...dotenvIssues, ...sortIssues(scrubSecrets(sink.issues, raw))]));
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
): Promise<{ env: Record<string, string | undefined>; issues: InventoryIssue[] }> {
  const real = options.env ?? process.env;
  if (options.dotenv === false) return { env: { ...real }, issues: [] };
  const dotenvFile = join(dirname(inventoryFile), '.env');
  let bytes: Buffer;
  try {
    bytes = await readFile(dotenvFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { env: { ...real }, issues: [] };
    const { message } = unreadable(error as NodeJS.ErrnoException, dotenvFile);
    return fail(message, 'check its permissions, or remove it and export the variables instead', dotenvFile);
  }
  const decoded = decodeInputText(bytes, dotenvFile);
  if (!decoded.ok) return fail(decoded.message, 'a .env file holds NAME=value lines in UTF-8 text', dotenvFile);
  const parsed = parseDotenv(decoded.text);
  const issues = parsed.problems.map((p): InventoryIssue => ({
    file: dotenvFile,
    line: p.line,
    column: p.column,
    field: '',
    message: p.message,
    hint: p.hint,
  }));
  return { env: { ...parsed.values, ...real }, issues };
}

/** Why a path could not be read, in the user's terms (a directory and a symlink loop are not permission problems). */
function unreadable(error: NodeJS.ErrnoException, what: string): { message: string; hint: string } {
  switch (error.code) {
    case 'ENOENT':
      return {
        message: `${what === 'the inventory' ? 'the inventory file' : what} does not exist`,
        hint: 'run `proxflare init` to create one, or pass its path with --inventory',
      };
    case 'EISDIR':
      return {
        message: `${what} is a directory, not a file`,
        hint: 'pass the inventory file itself, e.g. --inventory ./homelab/inventory.yaml',
      };
    case 'ELOOP':
      return {
        message: `${what} is a symbolic link that points back to itself (a loop)`,
        hint: 'fix the link (ls -l shows its target) or pass the real file',
      };
    case 'ENOTDIR':
      return { message: `a part of the path of ${what} is a file, not a directory`, hint: 'check the path given to --inventory' };
    case 'EACCES':
    case 'EPERM':
      return {
        message: `${what} cannot be read (permission denied)`,
        hint: 'check the file permissions (ls -l), or run as the user that owns it',
      };
    default:
      return { message: `cannot read ${what} (${error.code ?? error.message})`, hint: 'check the path and the file permissions' };
  }
}

function withoutExtensionKeys(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
}

function located(
  file: string,
  issue: { field: string; message: string; hint?: string; position: { line: number; column: number } },
): InventoryIssue {
  return {
    file,
    line: issue.position.line,
    column: issue.position.column,
    field: issue.field,
    message: issue.message,
    ...(issue.hint ? { hint: issue.hint } : {}),
  };
}

/**
 * A syntax error must not hide the rest of the file: the other problems of yaml's recovered
 * document are reported too, except on the lines the error makes unreliable and except
 * "is required" (the missing key may be inside the broken part).
 */
function problemsPastSyntaxErrors(source: YamlSource): InventoryIssue[] {
  const data = source.recovered;
  const broken = source.syntaxErrorLines;
  if (!broken || data === null || typeof data !== 'object' || Array.isArray(data)) return [];
  const raw = withoutExtensionKeys(data as Record<string, unknown>);
  const sink = new IssueSink(source.positions);
  const skip = checkHeaderValues(raw, sink);
  const parsed = inventorySchema.safeParse(raw);
  if (!parsed.success) reportZodIssues(parsed.error.issues, raw, sink, (field) => skip.has(field));
  checkInventory(raw, sink, source.interpolated);
  return scrubSecrets(
    sink.issues.filter((i) => !broken.has(i.line) && i.message !== 'is required'),
    raw,
  );
}

/** Quoted values are cut to a short excerpt: a garbage file must not echo itself back. */
function finish(issues: InventoryIssue[]): InventoryIssue[] {
  return issues.map((i) => ({ ...i, message: shortenQuoted(i.message), ...(i.hint ? { hint: shortenQuoted(i.hint) } : {}) }));
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
