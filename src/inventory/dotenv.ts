/**
 * A strict `.env` reader that keeps line numbers. `node:util parseEnv` (and the `dotenv`
 * package, which reports no errors at all) silently merge or drop malformed lines; here a
 * line that is not `NAME=value` is an error at its own line, so the user is never told
 * "`${X}` is not set" about a variable that is plainly written in the file.
 *
 * Accepted: blank lines, `# comments`, an optional `export ` prefix, unquoted values (a ` #`
 * starts a comment), 'single-quoted' (literal) and "double-quoted" values (\n \r \t \" \\
 * escapes; both kinds may span lines, for keys and certificates). A UTF-8 BOM is ignored.
 */
export interface DotenvProblem {
  line: number;
  column: number;
  message: string;
  hint: string;
}

export interface DotenvResult {
  values: Record<string, string>;
  problems: DotenvProblem[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseDotenv(text: string): DotenvResult {
  const values: Record<string, string> = {};
  const problems: DotenvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const body = trimmed.replace(/^export[ \t]+/, '');
    const eq = body.indexOf('=');
    if (eq === -1) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body)?.[0];
      problems.push({
        line: lineNo,
        column: 1,
        message: word ? `line has no \`=\` after ${word}` : 'line is not NAME=value',
        hint: 'write NAME=value (no spaces around =), or start the line with # to make it a comment',
      });
      continue;
    }
    const name = body.slice(0, eq).trimEnd();
    const column = raw.indexOf(body) + 1;
    if (name === '') {
      problems.push({ line: lineNo, column, message: 'a value without a name before `=`', hint: 'write NAME=value' });
      continue;
    }
    if (!NAME.test(name)) {
      problems.push({
        line: lineNo,
        column,
        message: `\`${excerptName(name)}\` is not a variable name`,
        hint: 'names are letters, digits and _ and do not start with a digit (e.g. PVE_TOKEN_SECRET=...)',
      });
      continue;
    }
    const rest = body.slice(eq + 1).trimStart();
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const found = quotedValue(lines, i, raw.indexOf(rest) + 1, quote);
      if (!found) {
        problems.push({
          line: lineNo,
          column: raw.indexOf(rest) + 1,
          message: `the ${quote === '"' ? 'double' : 'single'} quote opened here for ${name} is never closed`,
          hint: `end the value with a closing ${quote} on this line`,
        });
        break; // Everything after an unclosed quote would be read as its value.
      }
      const after = found.after.trim();
      if (after !== '' && !after.startsWith('#')) {
        problems.push({
          line: found.endLine + 1,
          column: 1,
          message: `text after the closing quote of ${name}`,
          hint: 'put a comment after # or nothing after the closing quote',
        });
      }
      values[name] = quote === '"' ? unescape(found.value) : found.value;
      i = found.endLine;
      continue;
    }
    values[name] = rest.replace(/[ \t]+#.*$/, '').trimEnd();
  }
  return { values, problems };
}

function quotedValue(
  lines: string[],
  start: number,
  column: number,
  quote: string,
): { value: string; endLine: number; after: string } | undefined {
  let text = lines[start]!.slice(column); // after the opening quote
  for (let line = start; line < lines.length; line++) {
    if (line > start) text = `${text}\n${lines[line]}`;
    const close = closingQuote(text, quote, line === start ? 0 : text.length - lines[line]!.length);
    if (close !== -1) return { value: text.slice(0, close), endLine: line, after: text.slice(close + 1) };
  }
  return undefined;
}

function closingQuote(text: string, quote: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

function unescape(text: string): string {
  return text.replace(/\\([nrt"\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[c]!);
}

function excerptName(name: string): string {
  return name.length > 30 ? `${name.slice(0, 30)}…` : name;
}
