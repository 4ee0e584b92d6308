import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import type { Document, Node as YamlNode, Scalar } from 'yaml';
import { interpolate } from './interpolate.js';
import { SourceMap, childField } from './source-map.js';
import type { Position } from './source-map.js';

/** A problem found while reading the file, before any schema check. */
export interface RawIssue {
  field: string;
  message: string;
  hint?: string;
  position: Position;
}

export interface YamlSource {
  /** Plain data with `${VAR}` already expanded; undefined when the file has syntax errors. */
  data: unknown;
  positions: SourceMap;
  issues: RawIssue[];
  warnings: RawIssue[];
  /** Fields whose value was (partly) written as `${VAR}`; secrets outside this set were pasted in. */
  interpolated: Set<string>;
  /**
   * With syntax errors: the lines they make unreliable. `data` is then yaml's recovered
   * document, good enough to report other problems on the lines that parsed.
   */
  syntaxErrorLines?: Set<number>;
  recovered?: unknown;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Parses YAML keeping source positions for every key and value, and expands `${VAR}`
 * in string scalars. A plain (unquoted) scalar that becomes a number or boolean after
 * expansion is typed as one, so `port: ${APP_PORT}` works like `port: 8080`.
 */
export function readYamlSource(text: string, displayFile: string, env: Env): YamlSource {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const positions = new SourceMap(displayFile);
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const source: YamlSource = { data: undefined, positions, issues: [], warnings: [], interpolated: new Set() };

  if (doc.errors.length > 0) {
    const scrub = secretScrubber(text);
    const lines = new Set<number>();
    for (const error of doc.errors) {
      const quote = error.code === 'MISSING_CHAR' ? unclosedQuote(doc, error.pos[0]) : undefined;
      const from = at(quote?.start ?? error.pos[0]);
      const to = at(error.pos[1]);
      // The node the error is in may start lines earlier (an unclosed `[`): its lines are unreliable too.
      const first = Math.min(from.line, at(enclosingNodeStart(doc, error.pos[0])).line);
      for (let line = first; line <= to.line; line++) lines.add(line);
      source.issues.push(
        quote
          ? {
              field: '',
              message: `YAML syntax error: the ${quote.double ? 'double' : 'single'} quote opened here is never closed (the value runs to line ${to.line})`,
              hint: `add the closing ${quote.double ? '"' : "'"} at the end of the value on this line`,
              position: from,
            }
          : {
              field: '',
              // prettyErrors is off, so there is no source excerpt; but some messages quote the offending token.
              message: `YAML syntax error: ${scrub(error.message)}`,
              hint: 'fix the YAML syntax at this position (check indentation, quotes and closing brackets)',
              position: from,
            },
      );
    }
    source.syntaxErrorLines = lines;
    // Aliases are left out: they may point into the broken part, and expanding them is not worth the risk.
    let aliases = 0;
    visit(doc, { Alias: () => void aliases++ });
    if (aliases === 0) {
      const walker = new Walker(doc, env, { ...source, issues: [], warnings: [] }, at);
      source.recovered = walker.walk(doc.contents as YamlNode | null, '', undefined);
    }
    return source;
  }
  for (const warning of doc.warnings) {
    source.warnings.push({ field: '', message: `YAML: ${warning.message}`, position: at(warning.pos[0]) });
  }

  try {
    // yaml's own guard against alias bombs; the walker below expands aliases too. Without a
    // `*` in the text there is no alias, and building the whole value once more costs
    // ~10% of loading a 1,000-service inventory.
    if (text.includes('*')) doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const message = (error as Error).message;
    const unresolved = /^Unresolved alias.*: (\S+)$/.exec(message);
    const offset = unresolved ? text.indexOf(`*${unresolved[1]}`) : -1;
    const name = unresolved?.[1] ?? '';
    // `hostname: *.example.com` is the usual way to get here: a plain `*` starts an alias in YAML.
    const wildcard = name.includes('.');
    source.issues.push({
      field: '',
      message: unresolved
        ? wildcard
          ? `\`*${name}\` is read as a YAML alias (a plain value cannot start with *)`
          : `YAML alias *${name} has no anchor`
        : `YAML aliases expand too much: ${message}`,
      hint: unresolved
        ? wildcard
          ? `quote it: "*${name}"`
          : `define \`&${name}\` on a value before this alias, or quote the value if the * is meant literally`
        : 'use fewer nested aliases (*name)',
      position: offset >= 0 ? at(offset) : { line: 1, column: 1 },
    });
    return source;
  }
  const walker = new Walker(doc, env, source, at);
  source.data = walker.walk(doc.contents as YamlNode | null, '', undefined);
  return source;
}

class Walker {
  constructor(
    private readonly doc: Document,
    private readonly env: Env,
    private readonly source: YamlSource,
    private readonly at: (offset: number) => Position,
  ) {}

  walk(node: YamlNode | null | undefined, field: string, fallback: Position | undefined): unknown {
    const position = node?.range ? this.at(node.range[0]) : fallback;
    if (position) this.source.positions.setValue(field, position);
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      // Aliases are resolved where they are used; positions stay those of the alias.
      return this.walk(node.resolve(this.doc) as YamlNode | undefined, field, position);
    }
    if (isScalar(node)) return this.scalar(node, field, position);
    if (isSeq(node)) return node.items.map((item, i) => this.walk(item as YamlNode, childField(field, i), position));
    if (isMap(node)) return this.map(node.items, field, position);
    return null;
  }

  private map(
    items: readonly { key: unknown; value: unknown }[],
    field: string,
    mapPosition: Position | undefined,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const merges: YamlNode[] = [];
    for (const pair of items) {
      const keyNode = pair.key as YamlNode | null;
      const keyValue = isScalar(keyNode) ? keyNode.value : undefined;
      if (keyValue === '<<' || (typeof keyValue === 'symbol' && keyValue.description === '<<')) {
        merges.push(pair.value as YamlNode);
        continue;
      }
      const keyPosition = keyNode?.range ? this.at(keyNode.range[0]) : mapPosition;
      const key = keyValue === null || keyValue === undefined ? '' : String(keyValue);
      const child = childField(field, key);
      if (keyPosition) this.source.positions.setKey(child, keyPosition);
      const valueNode = pair.value as YamlNode | null;
      // `key:` with nothing after it has an empty scalar at the end of the line; point at the key instead.
      const isEmpty = !valueNode || (isScalar(valueNode) && valueNode.value === null && valueNode.range?.[0] === valueNode.range?.[1]);
      out[key] = this.walk(isEmpty ? null : valueNode, child, keyPosition);
    }
    // `<<: *defaults` fills only the keys the map does not set itself (YAML merge semantics).
    // Walked last so explicit keys keep their own positions.
    for (const merged of merges.map((node) => this.walk(node, field, mapPosition)).flat()) {
      if (merged && typeof merged === 'object' && !Array.isArray(merged)) {
        for (const [key, value] of Object.entries(merged)) if (!(key in out)) out[key] = value;
      }
    }
    return out;
  }

  private scalar(node: Scalar, field: string, position: Position | undefined): unknown {
    const value = node.value;
    if (typeof value !== 'string' || !value.includes('${')) return value;
    const result = interpolate(value, this.env);
    const where = position ?? { line: 1, column: 1 };
    this.source.interpolated.add(field);
    for (const missing of result.missing) {
      this.source.issues.push({
        field,
        message: `${missing.expression} is not set: export it or put it in .env`,
        hint: missing.empty
          ? `${missing.name} is empty; give it a value in the environment or in the .env file next to the inventory`
          : `e.g. \`export ${missing.name}=...\` or a line \`${missing.name}=...\` in the .env file next to the inventory`,
        position: where,
      });
    }
    for (const bad of result.malformed) {
      this.source.issues.push({
        field,
        message: `malformed variable reference ${bad.length > 40 ? `${bad.slice(0, 40)}...` : bad}`,
        hint: 'write ${NAME} or ${NAME:-default} (letters, digits and _), or $${ for a literal ${',
        position: where,
      });
    }
    if (node.type === 'PLAIN') return retype(result.value);
    return result.value;
  }
}

/** Start of the outermost flow collection (`[...]`, `{...}`) holding `offset`; block maps hold everything. */
function enclosingNodeStart(doc: Document, offset: number): number {
  let start = offset;
  visit(doc, (_, node) => {
    if (!(isSeq(node) || isMap(node)) || node.flow !== true || !node.range) return;
    const [from, , end] = node.range;
    if (from <= offset && offset <= end && from < start) start = from;
  });
  return start;
}

/** The quoted scalar a "missing closing quote" error belongs to: the last one starting before it. */
function unclosedQuote(doc: Document, errorOffset: number): { start: number; double: boolean } | undefined {
  let found: { start: number; double: boolean } | undefined;
  visit(doc, {
    Scalar(_, node) {
      const start = node.range?.[0];
      if (start === undefined || start > errorOffset) return;
      if (node.type !== 'QUOTE_DOUBLE' && node.type !== 'QUOTE_SINGLE') return;
      if ((node.range?.[2] ?? node.range?.[1] ?? 0) < errorOffset - 1) return;
      if (!found || start > found.start) found = { start, double: node.type === 'QUOTE_DOUBLE' };
    },
  });
  return found;
}

/**
 * Hides the words written after `tokenSecret:` / `apiToken:` in a file that did not
 * parse: yaml quotes offending tokens in some messages, and such a token may be a secret.
 */
export function secretScrubber(text: string): (message: string) => string {
  const words = new Set<string>();
  for (const match of text.matchAll(/^[ \t-]*["']?(?:tokenSecret|apiToken)["']?[ \t]*:(.*)$/gm)) {
    for (const word of match[1]!.split(/[\s"'{}[\],]+/)) if (word.length >= 6) words.add(word);
  }
  return (message) => {
    let out = message;
    for (const word of words) out = out.split(word).join('(sensitive)');
    return out;
  };
}

function retype(text: string): unknown {
  if (/^-?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  return text;
}
