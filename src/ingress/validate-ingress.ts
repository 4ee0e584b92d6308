/**
 * An offline stand-in for `cloudflared tunnel --config X ingress validate` and
 * `cloudflared tunnel --config X ingress rule URL`: same verdict, same exit code,
 * same output text (minus the "Validating rules from <file>" / "Using rules from
 * <file>" first line). It lets proxflare refuse a config before it reaches the
 * connector, and lets tests check ingress behaviour without the real binary.
 * Ported from cloudflared's ingress/ingress.go, ingress/rule.go and config/.
 */
import { domainToASCII } from 'node:url';
import { compileGoRegexp } from './go-regexp.js';
import { goQuote, goSplitHostPort, goUrlHostname, goUrlPort, goUrlString, isGoCidr, parseGoUrl } from './go-net.js';
import { decodeGoYaml } from './go-yaml.js';

export type IngressValidation = { ok: true; output: string; warnings: string[] } | { ok: false; output: string };

export interface ValidateOptions {
  /** Name cloudflared would print in YAML errors ("error parsing YAML in config file at <name>"). */
  fileName?: string;
}

/** A rule as cloudflared holds it after validation. */
export interface CompiledIngressRule {
  hostname: string;
  punycodeHostname: string;
  path?: { source: string; regexp: RegExp };
  /** cloudflared's `Service.String()`. */
  service: string;
}

export interface CompiledIngress {
  rules: CompiledIngressRule[];
}

export type ParsedIngress =
  | {
      ok: true;
      ingress: CompiledIngress;
      warnings: string[];
      /** The whole file as plain JavaScript, parsed once (saves callers a second YAML parse). */
      document: () => unknown;
    }
  | { ok: false; output: string };

/** Unvalidated rule input, as in the YAML (also the shape `render/ingress-rules` produces). */
export interface RawIngressRule {
  hostname?: string;
  path?: string;
  service?: string;
  originRequest?: Record<string, unknown>;
}

const WARNING_HEADER = 'Warning: unused keys detected in your config file. Here is a list of unused keys:';

/** `cloudflared tunnel --config X ingress validate`, without the first output line. */
export function validateIngressConfig(yamlText: string, options: ValidateOptions = {}): IngressValidation {
  const parsed = parseIngressConfig(yamlText, options);
  if (!parsed.ok) return parsed;
  if (parsed.warnings.length > 0) {
    return {
      ok: true,
      output: `${WARNING_HEADER}\nyaml: unmarshal errors:\n  ${parsed.warnings.join('\n  ')}`,
      warnings: parsed.warnings,
    };
  }
  return { ok: true, output: 'OK', warnings: [] };
}

/** Reads and validates a config.yml; on success returns the compiled rules for matching. */
export function parseIngressConfig(yamlText: string, options: ValidateOptions = {}): ParsedIngress {
  const fileName = options.fileName ?? 'config.yml';
  const decoded = decodeGoYaml(yamlText);
  if (!decoded.ok) return { ok: false, output: `error parsing YAML in config file at ${fileName}: ${decoded.error}` };
  const config = decoded.value as {
    ingress?: (RawIngressRule | undefined)[];
    originRequest?: Record<string, unknown>;
  };
  const rules = (config.ingress ?? []).map((r) => r ?? {});
  const compiled = compileIngress(rules, config.originRequest ?? {});
  if (!compiled.ok) return compiled;
  return { ok: true, ingress: compiled.ingress, warnings: decoded.unknownFields, document: decoded.toJS };
}

/** cloudflared's ParseIngress/validateIngress over already-decoded rules. */
export function compileIngress(
  rules: RawIngressRule[],
  defaults: Record<string, unknown> = {},
): { ok: true; ingress: CompiledIngress } | { ok: false; output: string } {
  if (rules.length === 0) return fail("The config file doesn't contain any ingress rules");
  const compiled: CompiledIngressRule[] = [];
  for (const [i, r] of rules.entries()) {
    const hostname = r.hostname ?? '';
    const path = r.path ?? '';
    const originRequest = r.originRequest ?? {};
    const service = parseService(r.service ?? '', originRequest, defaults);
    if (!service.ok) return fail(service.error);

    const access = originRequest.access as { required?: boolean; teamName?: string; audTag?: string[] } | undefined;
    if (access?.required && !access.teamName && (access.audTag?.length ?? 0) > 0) {
      return fail('access.TeamName cannot be blank when access.audTags are present');
    }

    const hostError = validateHostname(hostname, path, i, rules.length);
    if (hostError) return fail(hostError);

    const isCatchAll = (hostname === '' || hostname === '*') && path === '';
    const punycodeHostname = isCatchAll ? '' : punycode(hostname);

    let pathRegexp: CompiledIngressRule['path'];
    if (path !== '') {
      const re = compileGoRegexp(path);
      if (!re.ok) return fail(`Rule #${i + 1} has an invalid regex: ${re.error}`);
      pathRegexp = { source: path, regexp: re.regexp };
    }
    compiled.push({
      hostname,
      punycodeHostname: punycodeHostname !== hostname ? punycodeHostname : '',
      ...(pathRegexp ? { path: pathRegexp } : {}),
      service: service.display,
    });
  }
  return { ok: true, ingress: { rules: compiled } };
}

function fail(message: string): { ok: false; output: string } {
  return { ok: false, output: `Validation failed: ${message}` };
}

function parseService(
  service: string,
  originRequest: Record<string, unknown>,
  defaults: Record<string, unknown>,
): { ok: true; display: string } | { ok: false; error: string } {
  if (service.startsWith('unix:')) return { ok: true, display: service };
  if (service.startsWith('unix+tls:')) return { ok: true, display: service };
  if (service.startsWith('http_status:')) {
    const text = service.slice('http_status:'.length);
    const code = goAtoi(text);
    if (typeof code === 'string') return { ok: false, error: `invalid HTTP status code: ${code}` };
    if (code < 100 || code > 999) return { ok: false, error: `invalid HTTP status code: ${code}` };
    return { ok: true, display: `http_status:${code}` };
  }
  if (service === 'hello-world' || service === 'hello_world') return { ok: true, display: 'hello_world' };
  if (service === 'socks-proxy') {
    const ipRules = (originRequest.ipRules ?? []) as { prefix?: string; ports?: number[] }[];
    for (const rule of ipRules) {
      const problem = ipRuleProblem(rule ?? {});
      if (problem) return { ok: false, error: `unable to create ip rule for ${service}: ${problem}` };
    }
    return { ok: true, display: 'socks-proxy' };
  }
  const bastionMode = (originRequest.bastionMode ?? defaults.bastionMode) === true;
  if (service === 'bastion' || bastionMode) return { ok: true, display: 'bastion' };

  const parsed = parseGoUrl(service);
  if (!parsed.ok) return { ok: false, error: parsed.error };
  const u = parsed.url;
  if (u.scheme === '' || goUrlHostname(u) === '') {
    return { ok: false, error: `${service} is an invalid address, please make sure it has a scheme and a hostname` };
  }
  if (u.path !== '') {
    return {
      ok: false,
      error: `${service} is an invalid address, ingress rules don't support proxying to a different path on the origin service. The path will be the same as the eyeball request's path`,
    };
  }
  if (['http', 'https', 'ws', 'wss'].includes(u.scheme)) return { ok: true, display: goUrlString(u) };
  const defaultPorts: Record<string, number> = { ssh: 22, rdp: 3389, smb: 445, tcp: 7864 };
  let dest = u.host;
  const defaultPort = defaultPorts[u.scheme];
  // Mirrors cloudflared's addPortIfMissing, including its bracket-less IPv6 output.
  if (defaultPort !== undefined && goUrlPort(u) === '') dest = `${goUrlHostname(u)}:${defaultPort}`;
  return { ok: true, display: `${u.scheme}://${dest}` };
}

function ipRuleProblem(rule: { prefix?: string; ports?: number[] }): string | undefined {
  if (!rule.prefix) return 'no prefix provided';
  if (!isGoCidr(rule.prefix)) return `unable to parse cidr: ${rule.prefix}`;
  for (const port of [...(rule.ports ?? [])].sort((a, b) => a - b)) {
    if (port < 1 || port > 65535) return `invalid port ${port}, needs to be between 1 and 65535`;
  }
  return undefined;
}

/** Go's strconv.Atoi: the number, or the error text. */
function goAtoi(text: string): number | string {
  if (!/^[+-]?[0-9]+$/.test(text)) return `strconv.Atoi: parsing ${goQuote(text)}: invalid syntax`;
  const n = Number(text);
  if (!Number.isSafeInteger(n) && Math.abs(n) >= 2 ** 63) return `strconv.Atoi: parsing ${goQuote(text)}: value out of range`;
  return n;
}

function validateHostname(hostname: string, path: string, index: number, total: number): string | undefined {
  if (goSplitHostPort(hostname)) return 'Hostname cannot contain a port';
  if (hostname.lastIndexOf('*') > 0) {
    return 'Hostname patterns can have at most one wildcard character ("*") and it can only be used for subdomains, e.g. "*.example.com"';
  }
  const isCatchAll = (hostname === '' || hostname === '*') && path === '';
  const isLast = index === total - 1;
  if (isLast && !isCatchAll) {
    return 'The last ingress rule must match all URLs (i.e. it should not have a hostname or path filter)';
  }
  if (!isLast && isCatchAll) {
    return `Rule #${index + 1} is matching the hostname '${hostname}', but this will match every hostname, meaning the rules which follow it will never be triggered.`;
  }
  return undefined;
}

/** idna.Lookup.ToASCII as cloudflared uses it: '' when Go would report an error. */
function punycode(hostname: string): string {
  const ascii = domainToASCII(hostname);
  if (ascii === '') return '';
  // Go's Lookup profile applies STD3 rules: only letters, digits and hyphens in labels.
  if (/[^a-z0-9.-]/.test(ascii)) return '';
  for (const label of ascii.split('.')) {
    if (label.startsWith('-') || label.endsWith('-')) return '';
    if (label.length >= 4 && label.slice(2, 4) === '--' && !label.startsWith('xn--')) return '';
  }
  return ascii;
}

function matchHost(ruleHost: string, reqHost: string): boolean {
  if (ruleHost === reqHost) return true;
  if (ruleHost.startsWith('*.')) return reqHost.endsWith(ruleHost.slice(1));
  return false;
}

function ruleMatches(rule: CompiledIngressRule, hostname: string, path: string): boolean {
  const hostMatch = rule.hostname === '' || rule.hostname === '*' || matchHost(rule.hostname, hostname);
  const punyMatch = rule.punycodeHostname !== '' && matchHost(rule.punycodeHostname, hostname);
  const pathMatch = !rule.path || rule.path.regexp.test(path);
  return (hostMatch || punyMatch) && pathMatch;
}

/** cloudflared's FindMatchingRule: first match wins, otherwise the last rule. */
export function findMatchingRule(ingress: CompiledIngress, hostname: string, path: string): number {
  const split = goSplitHostPort(hostname);
  const host = split ? split.host : hostname;
  const index = ingress.rules.findIndex((r) => ruleMatches(r, host, path));
  return index >= 0 ? index : ingress.rules.length - 1;
}

export type RuleMatch = { ok: true; index: number; output: string } | { ok: false; output: string };

/**
 * `cloudflared tunnel --config X ingress rule URL`, without the first output line.
 * `rules` is either compiled ingress (from `parseIngressConfig`) or unvalidated rules.
 */
export function matchIngressRule(rules: CompiledIngress | RawIngressRule[], url: string): RuleMatch {
  const parsedUrl = parseGoUrl(url);
  if (!parsedUrl.ok) return { ok: false, output: `${url} is not a valid URL: ${parsedUrl.error}` };
  const hostname = goUrlHostname(parsedUrl.url);
  if (hostname === '') return { ok: false, output: `${url} doesn't have a hostname, consider adding a scheme` };
  let ingress: CompiledIngress;
  if (Array.isArray(rules)) {
    const compiled = compileIngress(rules);
    if (!compiled.ok) return compiled;
    ingress = compiled.ingress;
  } else {
    ingress = rules;
  }
  const index = findMatchingRule(ingress, hostname, parsedUrl.url.path);
  const rule = ingress.rules[index]!;
  const lines = [`Matched rule #${index}`];
  if (rule.hostname !== '') lines.push(`\thostname: ${rule.hostname}`);
  if (rule.path) lines.push(`\tpath: ${rule.path.source}`);
  lines.push(`\tservice: ${rule.service}`);
  return { ok: true, index, output: lines.join('\n') };
}
