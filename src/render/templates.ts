/**
 * Renders the two files proxflare manages on the connector — cloudflared's
 * config.yml and its systemd unit — from handlebars templates that users may
 * override. Output is deterministic (rules are ordered here, keys are sorted) so
 * the plan can diff it byte-for-byte against what is on the host.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { stringify } from 'yaml';
import { InternalError, UserError } from '../core/errors.js';
import { parseIngressConfig } from '../ingress/validate-ingress.js';
import { orderIngressRules } from './ingress-rules.js';
import type { IngressRule } from './ingress-rules.js';

import { MANAGED_HEADER } from './managed-header.js';

export { MANAGED_HEADER };

export const CONFIG_TEMPLATE = 'config.yml.hbs';
export const DEFAULT_CATCH_ALL = 'http_status:404';
export const UNIT_TEMPLATE = 'cloudflared.service.hbs';

/** Keys the config template writes itself; `extra` may not redefine them. */
const RESERVED_KEYS = new Set(['tunnel', 'credentials-file', 'ingress']);

export interface ConfigInput {
  tunnelId: string;
  /** Absolute path of the tunnel credentials JSON on the connector. */
  credentialsFile: string;
  /** In any order: the renderer orders them. The catch-all rule is added after them. */
  rules: IngressRule[];
  /** Service of the last rule, for requests no rule matches; default `http_status:404`. */
  catchAll?: string;
  /** Further top-level cloudflared settings (e.g. originRequest defaults, loglevel, metrics). */
  extra?: Record<string, unknown>;
}

export interface UnitInput {
  /** Absolute path of the cloudflared binary, e.g. /usr/bin/cloudflared. */
  binary: string;
  /** Absolute path of config.yml, e.g. /etc/cloudflared/config.yml. */
  configPath: string;
}

export interface Renderer {
  renderConfig(input: ConfigInput): string;
  renderUnit(input: UnitInput): string;
  /** The template files in use (built-in or the user's override), for messages. */
  readonly templates: { config: string; unit: string };
}

export interface RendererOptions {
  /** A directory whose config.yml.hbs / cloudflared.service.hbs override the built-in ones. */
  templatesDir?: string;
}

const BUILTIN_DIR = new URL('../../templates/', import.meta.url);

interface LoadedTemplate {
  path: string;
  builtIn: boolean;
  render: (context: unknown) => string;
}

export function createRenderer(options: RendererOptions = {}): Renderer {
  const hbs = createHandlebars();
  if (options.templatesDir !== undefined && !isDirectory(options.templatesDir)) {
    throw new UserError(
      `templates directory ${options.templatesDir} does not exist or is not a directory (point it at a folder containing ${CONFIG_TEMPLATE} and/or ${UNIT_TEMPLATE})`,
    );
  }
  const config = loadTemplate(hbs, CONFIG_TEMPLATE, options.templatesDir);
  const unit = loadTemplate(hbs, UNIT_TEMPLATE, options.templatesDir);

  return {
    templates: { config: config.path, unit: unit.path },
    renderConfig(input) {
      for (const key of Object.keys(input.extra ?? {})) {
        if (RESERVED_KEYS.has(key)) throw new InternalError(`renderConfig: extra key "${key}" is written by the template itself`);
      }
      const { rules } = orderIngressRules(input.rules.map(normaliseRule));
      const extra = input.extra && Object.keys(input.extra).length > 0 ? input.extra : null;
      const text = finish(
        runTemplate(config, {
          header: MANAGED_HEADER,
          tunnelId: input.tunnelId,
          credentialsFile: input.credentialsFile,
          extra,
          catchAll: input.catchAll ?? DEFAULT_CATCH_ALL,
          rules: rules.map((r) => ({
            hostname: r.hostname,
            hasPath: r.path !== undefined,
            path: r.path ?? null,
            service: r.service,
            originRequest: r.originRequest && Object.keys(r.originRequest).length > 0 ? r.originRequest : null,
          })),
        }),
      );
      checkConfig(text, input, rules, config);
      return text;
    },
    renderUnit(input) {
      for (const [name, value] of Object.entries(input)) {
        // A newline would end the ExecStart= line and let the rest become unit directives.
        if (!value.startsWith('/') || /[\u0000-\u001f\u007f]/.test(value)) {
          throw new InternalError(`renderUnit: ${name} must be an absolute path without control characters, got ${JSON.stringify(value)}`);
        }
      }
      return finish(runTemplate(unit, { header: MANAGED_HEADER, binary: input.binary, configPath: input.configPath }));
    },
  };
}

/** Path-only rules render as hostname "*" (same matching as no hostname in cloudflared). */
function normaliseRule(rule: IngressRule): IngressRule {
  return { ...rule, hostname: rule.hostname === '' ? '*' : rule.hostname };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function createHandlebars(): typeof Handlebars {
  // An isolated environment: helpers never leak into other users of handlebars.
  const hbs = Handlebars.create();
  hbs.registerHelper('yaml', (value: unknown, options: Handlebars.HelperOptions) => {
    const indent = options.hash.indent as number | undefined;
    return indent === undefined ? yamlInline(value) : yamlBlock(value, indent);
  });
  hbs.registerHelper('systemdArg', (value: unknown) => systemdArg(String(value)));
  return hbs;
}

function loadTemplate(hbs: typeof Handlebars, name: string, userDir: string | undefined): LoadedTemplate {
  const userPath = userDir !== undefined ? join(userDir, name) : undefined;
  const builtIn = !(userPath !== undefined && existsSync(userPath));
  const path = builtIn ? fileURLToPath(new URL(name, BUILTIN_DIR)) : userPath!;
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (err) {
    if (builtIn) throw new InternalError(`built-in template ${path} is missing: ${(err as Error).message}`, { cause: err });
    throw new UserError(`cannot read template ${path}: ${(err as Error).message}`);
  }
  try {
    // Compile eagerly so a broken override is reported before anything is planned.
    const template = hbs.compile(source, { noEscape: true, strict: true });
    template({
      header: '',
      tunnelId: '',
      credentialsFile: '',
      extra: null,
      rules: [],
      catchAll: DEFAULT_CATCH_ALL,
      binary: '/x',
      configPath: '/x',
    });
    return { path, builtIn, render: template };
  } catch (err) {
    const message = `template ${path} is not valid handlebars: ${(err as Error).message}`;
    if (builtIn) throw new InternalError(message, { cause: err });
    throw new UserError(`${message} (fix the file or remove it to use the built-in template)`);
  }
}

function runTemplate(template: LoadedTemplate, context: unknown): string {
  try {
    return template.render(context);
  } catch (err) {
    const message = `rendering ${template.path} failed: ${(err as Error).message}`;
    if (template.builtIn) throw new InternalError(message, { cause: err });
    throw new UserError(`${message} (the template may only use the documented variables)`);
  }
}

/** Header first, exactly one trailing newline: stable bytes whatever the template does at its edges. */
function finish(text: string): string {
  const body = text.replace(/\s+$/, '');
  return `${body.startsWith(MANAGED_HEADER) ? body : `${MANAGED_HEADER}\n${body}`}\n`;
}

const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./:@%+=~-]*(?<!:)$/;
/** Words YAML 1.1 or 1.2 would read as booleans or null. */
const RESERVED_WORDS = /^(?:true|false|null|yes|no|on|off|y|n)$/i;

/** A YAML scalar (or flow collection) that is safe on the right of `key: `. */
export function yamlInline(value: unknown): string {
  // Fast path for the common case (hostnames, URLs, socket paths): plain scalars that
  // YAML can only read back as the same string. Everything else goes through `yaml`.
  if (typeof value === 'string' && PLAIN_SAFE.test(value) && !RESERVED_WORDS.test(value)) return value;
  if (typeof value === 'string' && /[\n\r\t\u0000-\u001f\u2028\u2029]/.test(value)) {
    // A JSON string is a valid YAML double-quoted scalar and keeps the value on one line.
    return JSON.stringify(value);
  }
  const text = stringify(value, { lineWidth: 0, flowCollectionPadding: false, collectionStyle: 'flow' });
  return text.replace(/\n$/, '');
}

/** A block mapping/sequence, every line indented by `indent` spaces, without a trailing newline. */
export function yamlBlock(value: unknown, indent: number): string {
  if (value === null || typeof value !== 'object') return `${' '.repeat(indent)}${yamlInline(value)}`;
  const text = stringify(value, { lineWidth: 0, sortMapEntries: true, indent: 2, indentSeq: true });
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `${' '.repeat(indent)}${line}`)
    .join('\n');
}

/** One ExecStart= argument: `%` escaped, quoted when it contains spaces or quotes. */
export function systemdArg(value: string): string {
  const escaped = value.replaceAll('%', '%%');
  if (!/[\s"'\\]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Defence in depth: what we are about to install must be what cloudflared will read. */
function checkConfig(text: string, input: ConfigInput, rules: IngressRule[], template: LoadedTemplate): void {
  const complain = (problem: string): never => {
    const message = `rendered config.yml from ${template.path} ${problem}`;
    if (template.builtIn) throw new InternalError(message);
    throw new UserError(`${message} (fix the template override)`);
  };
  // One parse serves both checks: cloudflared's reading (types, unknown keys) and the structure below.
  const parsed = parseIngressConfig(text);
  if (!parsed.ok) return complain(`is rejected by the ingress validator: ${parsed.output}`);
  if (parsed.warnings.length > 0) return complain(`has keys cloudflared would ignore: ${parsed.warnings.join('; ')}`);
  const doc = parsed.document();

  const config = doc as { tunnel?: unknown; 'credentials-file'?: unknown; ingress?: Record<string, unknown>[] };
  if (config.tunnel !== input.tunnelId) return complain(`has tunnel ${JSON.stringify(config.tunnel)}, expected ${input.tunnelId}`);
  if (config['credentials-file'] !== input.credentialsFile) {
    return complain(`has credentials-file ${JSON.stringify(config['credentials-file'])}, expected ${input.credentialsFile}`);
  }
  const ingress = config.ingress ?? [];
  if (ingress.length !== rules.length + 1) return complain(`has ${ingress.length} ingress rules, expected ${rules.length + 1}`);
  for (const [i, rule] of rules.entries()) {
    const got = ingress[i]!;
    if (got.hostname !== rule.hostname || got.path !== rule.path || got.service !== rule.service) {
      return complain(`renders ingress rule #${i + 1} as ${JSON.stringify(got)}, expected ${JSON.stringify(rule)}`);
    }
    const expectedOrigin = rule.originRequest && Object.keys(rule.originRequest).length > 0 ? rule.originRequest : undefined;
    if (JSON.stringify(sortKeys(got.originRequest)) !== JSON.stringify(sortKeys(expectedOrigin))) {
      return complain(`renders the originRequest of rule #${i + 1} differently from the input`);
    }
  }
  const last = ingress[rules.length]!;
  const catchAll = input.catchAll ?? DEFAULT_CATCH_ALL;
  if (last.service !== catchAll || last.hostname !== undefined || last.path !== undefined) {
    return complain(`does not end with the \`service: ${catchAll}\` catch-all rule`);
  }
  for (const [key, value] of Object.entries(input.extra ?? {})) {
    if (JSON.stringify(sortKeys((doc as Record<string, unknown>)[key])) !== JSON.stringify(sortKeys(value))) {
      return complain(`renders the top-level setting ${key} differently from the input`);
    }
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, sortKeys(v)]),
    );
  }
  return value;
}
