/**
 * The ingress engine of the stand-in cloudflared (./cloudflared): the project's own port of
 * cloudflared's ingress validation and matching (src/ingress), so the stand-in agrees with real
 * cloudflared wherever the port does (100 % on what an inventory renders) instead of carrying a
 * second, weaker implementation. Bundled with esbuild into `cloudflared-ingress.cjs` next to the
 * stand-in when it is installed (build-deb.ts); the Python script runs it with node.
 *
 *   validate FILE      `ingress validate` without the first line; exit 0/1
 *   rule FILE URL      `ingress rule URL` without the first line; exit 0/1
 *   rules FILE         for `tunnel run`: JSON {ok, rules, tunnel, credentialsFile} or {ok: false, output}
 *   match FILE         for `tunnel run` serving the simulated edge: reads one request URL per line on
 *                      stdin, answers the index of the rule cloudflared would pick, one per line
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { matchIngressRule, parseIngressConfig, validateIngressConfig } from '../../ingress/validate-ingress.js';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`error reading config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
    process.exitCode = 1;
    return undefined;
  }
}

function main([command, file, url]: string[]): void {
  if (!file || (command === 'rule' && !url) || !['validate', 'rule', 'rules', 'match'].includes(command ?? '')) {
    process.stderr.write('usage: cloudflared-ingress.cjs validate FILE | rule FILE URL | rules FILE | match FILE\n');
    process.exitCode = 2;
    return;
  }
  const text = read(file);
  if (text === undefined) return;
  if (command === 'validate') {
    const result = validateIngressConfig(text, { fileName: file });
    (result.ok ? process.stdout : process.stderr).write(`${result.output}\n`);
    process.exitCode = result.ok ? 0 : 1;
    return;
  }
  const parsed = parseIngressConfig(text, { fileName: file });
  if (command === 'rules') {
    if (!parsed.ok) {
      process.stdout.write(`${JSON.stringify({ ok: false, output: parsed.output })}\n`);
      return;
    }
    const doc = (parsed.document() ?? {}) as Record<string, unknown>;
    const raw = Array.isArray(doc['ingress']) ? (doc['ingress'] as Record<string, unknown>[]) : [];
    // The rule's own originRequest.access (cloudflared reads the Access check from the rule only), for the stand-in's simulated edge.
    const accessOf = (i: number) => (raw[i]?.['originRequest'] as Record<string, unknown> | undefined)?.['access'] ?? null;
    const rules = parsed.ingress.rules.map((r, i) => ({
      hostname: r.hostname,
      path: r.path?.source ?? '',
      service: r.service,
      access: accessOf(i),
    }));
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
    process.stdout.write(
      `${JSON.stringify({ ok: true, rules, tunnel: text(doc['tunnel']), credentialsFile: text(doc['credentials-file']) })}\n`,
    );
    return;
  }
  if (!parsed.ok) {
    process.stderr.write(`${parsed.output}\n`);
    process.exitCode = 1;
    return;
  }
  if (command === 'match') {
    // The rules are read once, when `tunnel run` starts, as cloudflared reads config.yml once.
    const ingress = parsed.ingress;
    createInterface({ input: process.stdin }).on('line', (line) => {
      const found = matchIngressRule(ingress, line.trim());
      process.stdout.write(`${found.ok ? found.index : -1}\n`);
    });
    return;
  }
  const match = matchIngressRule(parsed.ingress, url!);
  (match.ok ? process.stdout : process.stderr).write(`${match.output}\n`);
  process.exitCode = match.ok ? 0 : 1;
}

main(process.argv.slice(2));
