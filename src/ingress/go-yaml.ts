/**
 * Decodes a cloudflared config.yml the way cloudflared does: gopkg.in/yaml.v3 into
 * typed Go structs. Type mismatches ("cannot unmarshal !!str `banana` into
 * time.Duration") are fatal; unknown keys inside typed structs are only reported
 * by cloudflared's second, strict decode, so they are returned separately.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, parseDocument } from 'yaml';
import type { Document, Pair, Node as YamlNode, Scalar } from 'yaml';
import { goQuote } from './go-net.js';

export type GoType =
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int'; name: 'int' | 'uint' | 'uint64' }
  | { kind: 'duration' }
  | { kind: 'any' }
  | { kind: 'slice'; elem: GoType }
  | { kind: 'struct'; name: string; fields: Record<string, GoType>; inlineMap?: boolean };

const str: GoType = { kind: 'string' };
const bool: GoType = { kind: 'bool' };
const duration: GoType = { kind: 'duration' };

const accessConfig: GoType = {
  kind: 'struct',
  name: 'config.AccessConfig',
  fields: { required: bool, teamName: str, audTag: { kind: 'slice', elem: str }, environment: str },
};

const ipRule: GoType = {
  kind: 'struct',
  name: 'config.IngressIPRule',
  fields: { prefix: str, ports: { kind: 'slice', elem: { kind: 'int', name: 'int' } }, allow: bool },
};

const originRequestConfig: GoType = {
  kind: 'struct',
  name: 'config.OriginRequestConfig',
  fields: {
    connectTimeout: duration,
    tlsTimeout: duration,
    tcpKeepAlive: duration,
    noHappyEyeballs: bool,
    keepAliveConnections: { kind: 'int', name: 'int' },
    keepAliveTimeout: duration,
    httpHostHeader: str,
    originServerName: str,
    matchSNItoHost: bool,
    caPool: str,
    noTLSVerify: bool,
    disableChunkedEncoding: bool,
    bastionMode: bool,
    proxyAddress: str,
    proxyPort: { kind: 'int', name: 'uint' },
    proxyType: str,
    ipRules: { kind: 'slice', elem: ipRule },
    http2Origin: bool,
    access: accessConfig,
  },
};

const ingressRule: GoType = {
  kind: 'struct',
  name: 'config.UnvalidatedIngressRule',
  fields: { hostname: str, path: str, service: str, originRequest: originRequestConfig },
};

const warpRouting: GoType = {
  kind: 'struct',
  name: 'config.WarpRoutingConfig',
  fields: { connectTimeout: duration, maxActiveFlows: { kind: 'int', name: 'uint64' }, tcpKeepAlive: duration },
};

/** cloudflared's configFileSettings: Configuration plus an inline map for CLI-flag keys. */
export const CONFIG_FILE_TYPE: GoType = {
  kind: 'struct',
  name: 'config.configFileSettings',
  inlineMap: true,
  fields: { tunnel: str, ingress: { kind: 'slice', elem: ingressRule }, 'warp-routing': warpRouting, originRequest: originRequestConfig },
};

export type DecodeResult =
  | {
      ok: true;
      value: Record<string, unknown>;
      unknownFields: string[];
      empty: boolean;
      /** The document as plain JavaScript (YAML 1.2 core schema), for callers that inspect it. */
      toJS: () => unknown;
    }
  | { ok: false; error: string };

/** yaml.v3 error wording for a document that cannot be decoded. */
export function decodeGoYaml(text: string, type: GoType = CONFIG_FILE_TYPE): DecodeResult {
  const lineCounter = new LineCounter();
  const options = { lineCounter, uniqueKeys: false, prettyErrors: false, merge: false } as const;
  let doc: Document = parseDocument(text, options);
  if (doc.errors.some((e) => e.code === 'MULTIPLE_DOCS')) {
    // Go's yaml.Decoder reads the first document and ignores the rest.
    const first = parseAllDocuments(text, options);
    doc = Array.isArray(first) && first[0] ? first[0] : doc;
  }
  const syntax = doc.errors[0];
  if (syntax) {
    const line = lineCounter.linePos(syntax.pos[0]).line;
    const message = syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return { ok: false, error: `yaml: line ${line}: ${message}` };
  }
  const toJS = () => doc.toJS({ maxAliasCount: -1 }) as unknown;
  if (doc.contents === null) return { ok: true, value: {}, unknownFields: [], empty: true, toJS };
  const decoder = new Decoder(doc, lineCounter);
  const value = decoder.decode(doc.contents as YamlNode, type);
  if (decoder.typeErrors.length > 0) {
    return { ok: false, error: `yaml: unmarshal errors:\n  ${decoder.typeErrors.join('\n  ')}` };
  }
  return { ok: true, value: (value ?? {}) as Record<string, unknown>, unknownFields: decoder.unknownFields, empty: false, toJS };
}

const INT_SOURCE = /^[-+]?(?:[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const TRUE_WORDS = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const FALSE_WORDS = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

class Decoder {
  readonly typeErrors: string[] = [];
  readonly unknownFields: string[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private line(node: YamlNode): number {
    return node.range ? this.lines.linePos(node.range[0]).line : 0;
  }

  private goTypeName(type: GoType): string {
    switch (type.kind) {
      case 'string':
        return 'string';
      case 'bool':
        return 'bool';
      case 'int':
        return type.name;
      case 'duration':
        return 'time.Duration';
      case 'any':
        return 'interface {}';
      case 'slice':
        return `[]${this.goTypeName(type.elem)}`;
      case 'struct':
        return type.name;
    }
  }

  private shortTag(node: YamlNode): string {
    const explicit = node.tag;
    if (explicit) return explicit.replace(/^tag:yaml\.org,2002:/, '!!');
    if (isMap(node)) return '!!map';
    if (isSeq(node)) return '!!seq';
    const scalar = node as Scalar;
    const v = scalar.value;
    if (v === null) return '!!null';
    if (typeof v === 'boolean') return '!!bool';
    if (typeof v === 'number') {
      return scalar.type === 'PLAIN' && INT_SOURCE.test(String(scalar.source ?? '')) ? '!!int' : '!!float';
    }
    return '!!str';
  }

  private scalarText(node: Scalar): string {
    return typeof node.value === 'string' ? node.value : String(node.source ?? node.value);
  }

  private terror(node: YamlNode, type: GoType): void {
    const tag = this.shortTag(node);
    let value = '';
    if (tag !== '!!seq' && tag !== '!!map' && isScalar(node)) {
      const text = this.scalarText(node);
      value = text.length > 10 ? ` \`${text.slice(0, 7)}...\`` : ` \`${text}\``;
    }
    this.typeErrors.push(`line ${this.line(node)}: cannot unmarshal ${tag}${value} into ${this.goTypeName(type)}`);
  }

  decode(input: YamlNode, type: GoType): unknown {
    const node = isAlias(input) ? (input.resolve(this.doc) as YamlNode | undefined) : input;
    if (!node) return undefined;
    if (isScalar(node) && node.value === null && this.shortTag(node) === '!!null') return undefined;
    switch (type.kind) {
      case 'any':
        return node.toJSON();
      case 'string':
        if (isScalar(node)) return this.scalarText(node);
        return this.terror(node, type);
      case 'bool':
        if (isScalar(node)) {
          if (typeof node.value === 'boolean') return node.value;
          if (typeof node.value === 'string' && TRUE_WORDS.has(node.value)) return true;
          if (typeof node.value === 'string' && FALSE_WORDS.has(node.value)) return false;
        }
        return this.terror(node, type);
      case 'int':
        if (isScalar(node) && typeof node.value === 'number' && Number.isFinite(node.value)) {
          const n = Math.trunc(node.value);
          if (type.name === 'int' || n >= 0) return n;
        }
        return this.terror(node, type);
      case 'duration':
        if (isScalar(node) && typeof node.value === 'string') {
          const ns = parseGoDuration(node.value);
          if (ns !== undefined) return ns;
        }
        return this.terror(node, type);
      case 'slice':
        if (isSeq(node)) return node.items.map((item) => this.decode(item as YamlNode, type.elem));
        return this.terror(node, type);
      case 'struct':
        return this.decodeStruct(node, type);
    }
  }

  private decodeStruct(node: YamlNode, type: Extract<GoType, { kind: 'struct' }>): unknown {
    if (!isMap(node)) return this.terror(node, type);
    const own = node.items.filter((p) => !this.isMergeKey(p.key));
    if (this.duplicateKeys(own.map((p) => p.key as YamlNode | null))) return undefined;
    const pairs = [...this.mergedPairs(node.items, own), ...own].filter((p) => isScalar(p.key) || p.key === null);
    const out: Record<string, unknown> = {};
    for (const pair of pairs) {
      const keyNode = pair.key as Scalar | null;
      const key = keyNode === null ? '' : this.scalarText(keyNode);
      const fieldType = Object.hasOwn(type.fields, key) ? type.fields[key] : undefined;
      if (fieldType) {
        const value = pair.value === null ? undefined : this.decode(pair.value as YamlNode, fieldType);
        if (value !== undefined) out[key] = value;
      } else if (type.inlineMap) {
        out[key] = pair.value === null ? null : (pair.value as YamlNode).toJSON();
      } else {
        this.unknownFields.push(`line ${keyNode ? this.line(keyNode) : 0}: field ${key} not found in type ${type.name}`);
      }
    }
    return out;
  }

  private isMergeKey(key: unknown): boolean {
    return isScalar(key) && key.value === '<<' && key.type === 'PLAIN';
  }

  /** `<<: *anchor` / `<<: [*a, *b]` entries (yaml.v3 honours merge keys); explicit keys win. */
  private mergedPairs(items: Pair[], own: Pair[]): Pair[] {
    const ownKeys = new Set(own.map((p) => (isScalar(p.key) ? this.scalarText(p.key) : '')));
    const out: Pair[] = [];
    const seen = new Set<string>();
    for (const pair of items) {
      if (!this.isMergeKey(pair.key)) continue;
      const value = this.resolve(pair.value as YamlNode | null);
      const sources = isSeq(value) ? value.items.map((i) => this.resolve(i as YamlNode)) : [value];
      for (const source of sources) {
        if (!isMap(source)) continue;
        for (const p of source.items) {
          const key = isScalar(p.key) ? this.scalarText(p.key) : '';
          if (ownKeys.has(key) || seen.has(key)) continue;
          seen.add(key);
          out.push(p);
        }
      }
    }
    return out;
  }

  private resolve(node: YamlNode | null): YamlNode | null {
    return node && isAlias(node) ? ((node.resolve(this.doc) as YamlNode | undefined) ?? null) : node;
  }

  private duplicateKeys(keys: (YamlNode | null)[]): boolean {
    const before = this.typeErrors.length;
    for (let i = 0; i < keys.length; i++) {
      for (let j = i + 1; j < keys.length; j++) {
        const a = keys[i];
        const b = keys[j];
        if (a && b && isScalar(a) && isScalar(b) && this.scalarText(a) === this.scalarText(b)) {
          this.typeErrors.push(`line ${this.line(b)}: mapping key ${goQuote(this.scalarText(b))} already defined at line ${this.line(a)}`);
        }
      }
    }
    return this.typeErrors.length > before;
  }
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration; undefined when Go would reject the text. Result in nanoseconds. */
export function parseGoDuration(text: string): number | undefined {
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return undefined;
  let total = 0;
  const part = /^([0-9]*)(?:\.([0-9]*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m) return undefined;
    const [whole, int = '', frac] = m;
    if (int === '' && (frac === undefined || frac === '')) return undefined;
    total += Number(`${int || '0'}.${frac ?? '0'}`) * UNIT_NS[m[3]!]!;
    s = s.slice(whole.length);
  }
  if (total > 9223372036854775807) return undefined;
  return sign * total;
}
