/** One `${VAR}` that could not be resolved. */
export interface MissingVariable {
  name: string;
  /** The whole `${...}` expression as written. */
  expression: string;
  /** Set but empty (e.g. a line `NAME=` copied from .env.example). */
  empty: boolean;
}

export interface InterpolationResult {
  value: string;
  missing: MissingVariable[];
  /** Malformed expressions such as `${}` or `${1X}`. */
  malformed: string[];
  /** Whether any `${...}` was substituted (an env value, not text from the file). */
  substituted: boolean;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands `${VAR}` and `${VAR:-default}` (default when unset or empty, as in POSIX sh);
 * an empty variable without a default counts as missing;
 * `$${` is a literal `${`. A lone `$` is left alone so prices and regexes survive.
 */
export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): InterpolationResult {
  const result: InterpolationResult = { value: '', missing: [], malformed: [], substituted: false };
  if (!text.includes('${')) {
    result.value = text;
    return result;
  }
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!text.startsWith('${', i)) {
      out += text[i];
      i += 1;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close === -1) {
      result.malformed.push(text.slice(i));
      out += text.slice(i);
      break;
    }
    const expression = text.slice(i, close + 1);
    const body = text.slice(i + 2, close);
    const sep = body.indexOf(':-');
    const name = sep === -1 ? body : body.slice(0, sep);
    const fallback = sep === -1 ? undefined : body.slice(sep + 2);
    if (!NAME.test(name)) {
      result.malformed.push(expression);
      out += expression;
    } else {
      const value = env[name];
      if (value !== undefined && value !== '') {
        out += value;
        result.substituted = true;
      } else if (fallback !== undefined) {
        out += fallback;
      } else {
        // Every inventory field needs a value, so an empty variable is as good as a missing one.
        result.missing.push({ name, expression, empty: value === '' });
      }
    }
    i = close + 1;
  }
  result.value = out;
  return result;
}
