import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchIngressRule, parseIngressConfig, validateIngressConfig } from '../../../src/ingress/validate-ingress.js';

interface ValidateCase {
  name: string;
  config_yaml: string;
  exit_code: number;
  output: string;
}
interface RuleCase {
  config: string;
  url: string;
  exit_code: number;
  output: string;
}

const golden = JSON.parse(readFileSync(new URL('../../fixtures/cloudflared/ingress-golden.json', import.meta.url), 'utf8')) as {
  validate_cases: ValidateCase[];
  rule_cases: RuleCase[];
};

describe('validateIngressConfig reproduces `cloudflared ingress validate`', () => {
  it('covers every golden case', () => {
    expect(golden.validate_cases).toHaveLength(36);
  });

  it.each(golden.validate_cases)('$name', (c) => {
    const result = validateIngressConfig(c.config_yaml, { fileName: `${c.name}.yml` });
    expect(result.output).toBe(c.output);
    expect(result.ok ? 0 : 1).toBe(c.exit_code);
  });
});

describe('matchIngressRule reproduces `cloudflared ingress rule URL`', () => {
  const configs = new Map(golden.validate_cases.map((c) => [c.name, c.config_yaml]));

  it('covers every golden case', () => {
    expect(golden.rule_cases).toHaveLength(10);
  });

  it.each(golden.rule_cases)('$config $url', (c) => {
    const parsed = parseIngressConfig(configs.get(c.config)!);
    if (!parsed.ok) throw new Error(parsed.output);
    const result = matchIngressRule(parsed.ingress, c.url);
    expect(result.output).toBe(c.output);
    expect(result.ok ? 0 : 1).toBe(c.exit_code);
  });
});
