import { resolve } from 'node:path';
import { loadInventory } from '../../inventory/load.js';
import type { Inventory } from '../../inventory/types.js';
import type { CliContext } from '../main.js';
import { globalOptions } from '../main.js';

/** Load the inventory named by -i, registering its secrets with the output redactor. */
export async function loadForCli(ctx: CliContext): Promise<Inventory> {
  const file = resolve(ctx.io.cwd, globalOptions(ctx).inventory);
  const inventory = await loadInventory(file, { env: ctx.io.env });
  ctx.redactor.add(inventory.proxmox.tokenSecret.reveal());
  ctx.redactor.add(inventory.cloudflare.apiToken.reveal());
  return inventory;
}

export function registerValidate(ctx: CliContext): void {
  ctx.program
    .command('validate')
    .description('check the inventory (schema and cross-references); no network')
    .action(async () => {
      const inventory = await loadForCli(ctx);
      for (const w of inventory.warnings) ctx.io.stderr(`warning: ${w}\n`);
      const services = [...inventory.guests, ...inventory.hosts].reduce((n, g) => n + g.services.length, 0);
      const hosts = inventory.hosts.length > 0 ? `${inventory.hosts.length} host${inventory.hosts.length === 1 ? '' : 's'}, ` : '';
      ctx.io.stdout(
        `${inventory.file} is valid: ${inventory.guests.length} guest${inventory.guests.length === 1 ? '' : 's'}, ${hosts}` +
          `${services} service${services === 1 ? '' : 's'}, zone${inventory.cloudflare.zones.length === 1 ? '' : 's'} ${inventory.cloudflare.zones.join(', ')}.\n`,
      );
    });
}
