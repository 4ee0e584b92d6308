import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { InventoryIssue } from '../../../src/core/errors.js';
import { InventoryError } from '../../../src/core/errors.js';
import { loadInventory } from '../../../src/inventory/load.js';
import type { LoadOptions } from '../../../src/inventory/load.js';

/** Distinctive secret values: tests assert they never appear in any message. */
export const PVE_SECRET = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
export const CF_TOKEN = 'CFTOKEN-do-not-print-Zq8Xw2Lk9';

export const ENV = {
  PVE_TOKEN_ID: 'proxflare@pve!cli',
  PVE_TOKEN_SECRET: PVE_SECRET,
  CLOUDFLARE_API_TOKEN: CF_TOKEN,
  CLOUDFLARE_ACCOUNT_ID: '0123456789abcdef0123456789abcdef',
  HOME: '/home/tester',
};

export const FIXTURES = new URL('../../fixtures/inventories/', import.meta.url).pathname;

/** A minimal valid inventory; tests append or replace lines to break one thing at a time. */
export const MINIMAL = `proxmox:
  url: https://pve.lan:8006
  tokenId: \${PVE_TOKEN_ID}
  tokenSecret: \${PVE_TOKEN_SECRET}
  node: pve
cloudflare:
  apiToken: \${CLOUDFLARE_API_TOKEN}
  accountId: 0123456789abcdef0123456789abcdef
  zone: example.com
tunnel:
  name: homelab
connector:
  template: local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst
  storage: local-lvm
`;

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'proxflare-inventory-'));
}

/** Writes `inventory.yaml` (and optional neighbours such as .env) into a fresh directory. */
export async function writeInventory(yaml: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = await tempDir();
  const file = join(dir, 'inventory.yaml');
  await writeFile(file, yaml);
  for (const [name, content] of Object.entries(extra)) await writeFile(join(dir, name), content);
  return file;
}

export async function load(yaml: string, options: LoadOptions = { env: ENV }) {
  return loadInventory(await writeInventory(yaml), options);
}

/** Loads and expects an InventoryError; returns it. */
export async function loadError(yamlOrFile: string, options: LoadOptions = { env: ENV }): Promise<InventoryError> {
  const file = yamlOrFile.includes('\n') ? await writeInventory(yamlOrFile) : yamlOrFile;
  const error = await loadInventory(file, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InventoryError);
  return error as InventoryError;
}

/** The single issue for a field (fails if there is none or several). */
export function issueFor(error: InventoryError, field: string): InventoryIssue {
  const found = error.issues.filter((i) => i.field === field);
  expect(found, `issues for ${field} in:\n${error.message}`).toHaveLength(1);
  return found[0]!;
}

/** 1-based line and column of `needle` in `text` (plus `offset` characters), to check reported positions. */
export function positionOf(text: string, needle: string, offset = 0): { line: number; column: number } {
  const index = text.indexOf(needle);
  if (index === -1) throw new Error(`${needle} not in text`);
  const before = text.slice(0, index + offset);
  const line = before.split('\n').length;
  return { line, column: before.length - before.lastIndexOf('\n') };
}
