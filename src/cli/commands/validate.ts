import { resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { loadInventory } from '../../inventory/load.js';
import { findLocalProblems, formatLocalProblem } from '../../sync/local-prerequisites.js';
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
      // The key files and known_hosts are local, so validate checks them too (the public key only matters
      // when the connector is created, which validate cannot know without reading Proxmox: a warning).
      const problems = await findLocalProblems(inventory, { creatingConnector: true });
      const publicKey = problems.filter((p) => p.field === 'connector.ssh.publicKey');
      for (const p of publicKey) ctx.io.stderr(`warning: ${formatLocalProblem(inventory, p)}\n`);
      const errors = problems.filter((p) => p.field !== 'connector.ssh.publicKey');
      if (errors.length > 0) {
        throw new UserError(
          `${errors.length} local problem${errors.length === 1 ? '' : 's'}:\n` + errors.map((p) => `  ${formatLocalProblem(inventory, p)}`).join('\n'),
        );
      }
      const services = inventory.guests.reduce((n, g) => n + g.services.length, 0);
      ctx.io.stdout(
        `${inventory.file} is valid: ${inventory.guests.length} guest${inventory.guests.length === 1 ? '' : 's'}, ` +
          `${services} service${services === 1 ? '' : 's'}, zone${inventory.cloudflare.zones.length === 1 ? '' : 's'} ${inventory.cloudflare.zones.join(', ')}.\n`,
      );
    });
}
