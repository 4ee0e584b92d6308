/**
 * The lint rules the README promises, proven on small fixtures with the ESLint Node API and the
 * project's own eslint.config.js: each fixture breaks one rule and must be rejected by it.
 */
import { join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const FIXTURES = join(ROOT, 'test/fixtures/lint');

function rulesOf(results: ESLint.LintResult[]): string[] {
  return results.flatMap((r) => r.messages.map((m) => m.ruleId ?? `fatal: ${m.message}`));
}

describe('lint rules', { timeout: 120_000 }, () => {
  // Fixtures are ignored by `npm run lint`; here they are linted on purpose.
  const eslint = new ESLint({ cwd: ROOT, ignore: false });

  it('rejects a floating promise (type-checked)', async () => {
    expect(rulesOf(await eslint.lintFiles([join(FIXTURES, 'floating-promise.ts')]))).toEqual(['@typescript-eslint/no-floating-promises']);
  });

  it('rejects an import circle', async () => {
    const rules = rulesOf(await eslint.lintFiles([join(FIXTURES, 'cycle-a.ts')]));
    expect(rules).toEqual(['import-x/no-cycle']);
  });

  it('rejects a plan module importing an adapter, or sync, and a default export', async () => {
    // A virtual file in src/plan: import rules resolve from its place; type information is not needed.
    const untyped = new ESLint({
      cwd: ROOT,
      overrideConfig: [
        { files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { project: null } } },
      ],
    });
    const code = [
      "import { createProxmox } from '../proxmox/create-proxmox.js';",
      "import { readActual } from '../sync/read-actual.js';",
      'export default [createProxmox, readActual];',
      '',
    ].join('\n');
    const [result] = await untyped.lintText(code, { filePath: join(ROOT, 'src/plan/lint-fixture.ts') });
    const messages = result!.messages.map((m) => `${m.line} ${m.ruleId}`);
    expect(messages).toEqual(
      expect.arrayContaining(['1 import-x/no-restricted-paths', '2 import-x/no-restricted-paths', '3 import-x/no-default-export']),
    );
    expect(result!.messages[0]!.message).toContain('core, inventory, ingress, render and plan are pure');
  });

  it('rejects an adapter importing the plan, and a disable without its reason', async () => {
    const untyped = new ESLint({
      cwd: ROOT,
      overrideConfig: [
        { files: ['**/*.ts'], ...tseslint.configs.disableTypeChecked, languageOptions: { parserOptions: { project: null } } },
      ],
    });
    const code = [
      "import { planDns } from '../plan/plan-dns.js';",
      '// eslint-disable-next-line import-x/no-default-export',
      'export default planDns;',
      '',
    ].join('\n');
    const [result] = await untyped.lintText(code, { filePath: join(ROOT, 'src/cloudflare/lint-fixture.ts') });
    const rules = result!.messages.map((m) => m.ruleId);
    expect(rules).toContain('import-x/no-restricted-paths');
    expect(rules).toContain('@eslint-community/eslint-comments/require-description');
  });

  it('accepts the code base as it is (npm run lint is clean)', async () => {
    const results = await eslint.lintFiles(['src/plan/compute-plan.ts', 'src/apply/apply-plan.ts']);
    expect(rulesOf(results)).toEqual([]);
  });
});
