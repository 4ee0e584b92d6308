// ESLint flat config. Formatting is Prettier's job (npm run format); no rule here depends on it.
import js from '@eslint/js';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import n from 'eslint-plugin-n';
import tseslint from 'typescript-eslint';

/** Pure layers: they import no adapter and nothing of the orchestration, the CLI or the simulators. */
const PURE = ['./src/core', './src/inventory', './src/ingress', './src/render', './src/plan'];
const ADAPTERS = ['./src/proxmox', './src/cloudflare', './src/connector'];
const ORCHESTRATION = [
  './src/sync',
  './src/apply',
  './src/destroy',
  './src/status',
  './src/graph',
  './src/cli',
  './src/bench',
  './src/doctor',
];
const SIMULATION = ['./src/sim', './src/demo'];

const layering = [
  {
    target: PURE,
    from: [...ADAPTERS, ...ORCHESTRATION, ...SIMULATION],
    message: 'core, inventory, ingress, render and plan are pure: no adapter, sync, apply, cli, demo or sim (README "Layout")',
  },
  ...ADAPTERS.map((adapter) => ({
    target: adapter,
    from: './src',
    except: [adapter.replace('./src/', './'), './ports', './core', './inventory/types.ts'],
    message: 'an adapter imports only its port, core and the inventory types (README "Layout")',
  })),
  {
    // The simulators and the demo are for the demo command, the benchmark and tests only.
    target: ['./src/!(sim|demo|bench)/**', './src/cli/!(commands)/**', './src/cli/*.ts'],
    from: SIMULATION,
    message: 'src/sim and src/demo are imported only by the demo command, the benchmark and tests (README "Layout")',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX, n },
    settings: {
      // Parse .ts dependencies too, or no-cycle cannot follow them.
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.test.json' })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports', disallowTypeAnnotations: false }],
      'n/prefer-node-protocol': 'error',
      'import-x/no-default-export': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones: layering }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'use named exports' }],
    },
  },
  {
    // A disable says why on the same line: `// eslint-disable-next-line rule -- reason`.
    ...comments.recommended,
    rules: { ...comments.recommended.rules, '@eslint-community/eslint-comments/require-description': 'error' },
  },
  {
    // The demo command is the demo's one entry point (loaded lazily).
    files: ['src/cli/commands/demo.ts'],
    rules: { 'import-x/no-restricted-paths': ['error', { zones: layering.filter((z) => z.from !== SIMULATION) }] },
  },
  {
    // Config files default-export by convention of their tools, and are outside the TS projects.
    files: ['eslint.config.js', 'vitest.config.ts'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { parserOptions: { project: null } },
    rules: { 'import-x/no-default-export': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js'],
    ...js.configs.recommended,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', URL: 'readonly' } },
  },
);
