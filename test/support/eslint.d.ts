// eslint 9.9 ships no type declarations (they arrived in 9.10); this is the part of its Node
// API test/unit/lint/lint-rules.test.ts uses, so the tests type-check (tsconfig.test.json).
declare module 'eslint' {
  export namespace ESLint {
    interface LintMessage {
      ruleId: string | null;
      message: string;
      line: number;
    }
    interface LintResult {
      filePath: string;
      messages: LintMessage[];
    }
    interface Options {
      cwd?: string;
      ignore?: boolean;
      overrideConfigFile?: boolean | string;
      overrideConfig?: unknown;
    }
  }
  export class ESLint {
    constructor(options?: ESLint.Options);
    lintFiles(patterns: string[]): Promise<ESLint.LintResult[]>;
    lintText(code: string, options?: { filePath?: string }): Promise<ESLint.LintResult[]>;
  }
}
