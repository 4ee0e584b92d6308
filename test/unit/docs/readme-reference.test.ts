import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { inventoryReferenceMarkdown } from '../../../src/inventory/json-schema.js';

const README = new URL('../../../README.md', import.meta.url);
const START = '<!-- inventory-reference:start -->';
const END = '<!-- inventory-reference:end -->';

/** The README's inventory reference is generated from the schema; regenerate with UPDATE_README=1. */
describe('README inventory reference', () => {
  it('matches the schema', async () => {
    const text = await readFile(README, 'utf8');
    const start = text.indexOf(START);
    const end = text.indexOf(END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    const wanted = `${START}\n${inventoryReferenceMarkdown().trim()}\n${END}`;
    const current = text.slice(start, end + END.length);
    if (process.env.UPDATE_README === '1' && current !== wanted) {
      await writeFile(README, text.slice(0, start) + wanted + text.slice(end + END.length));
      return;
    }
    expect(current).toBe(wanted);
  });
});
