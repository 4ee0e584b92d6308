import { access, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { envExample, starterInventory } from '../../inventory/starter.js';
import { inventoryJsonSchema } from '../../inventory/json-schema.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';

export async function runInit(ctx: CliContext, flags: { force: boolean }): Promise<void> {
  const file = resolve(ctx.io.cwd, globalOptions(ctx).inventory);
  const dir = dirname(file);
  const outputs: [string, string][] = [
    [file, starterInventory()],
    [resolve(dir, 'inventory.schema.json'), `${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`],
    [resolve(dir, '.env.example'), envExample()],
  ];
  if (!flags.force) {
    for (const [path] of outputs) {
      if (await exists(path)) throw new UserError(`${path} already exists; edit it, or re-run with --force to overwrite it`);
    }
  }
  for (const [path, content] of outputs) await writeFile(path, content, { mode: 0o644 });
  ctx.io.stdout(
    `Wrote ${outputs.map(([p]) => p).join(', ')}.\n` +
      'Next: copy .env.example to .env and fill in the tokens, edit the inventory, then run `proxflare validate` and `proxflare sync --dry-run`.\n',
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
