import { resolve } from 'node:path';
import { loadInventory } from '../inventory/load.js';
import type { Inventory } from '../inventory/types.js';
import type { CliContext } from './context.js';
import { globalOptions } from './context.js';

/** Load the inventory named by -i, registering its secrets with the output redactor. */
export async function loadForCli(ctx: CliContext): Promise<Inventory> {
  const file = resolve(ctx.io.cwd, globalOptions(ctx).inventory);
  const inventory = await loadInventory(file, { env: ctx.io.env });
  ctx.redactor.add(inventory.proxmox.tokenSecret.reveal());
  ctx.redactor.add(inventory.cloudflare.apiToken.reveal());
  return inventory;
}
