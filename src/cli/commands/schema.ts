import { inventoryJsonSchema } from '../../inventory/json-schema.js';
import type { CliContext } from '../main.js';

export function registerSchema(ctx: CliContext): void {
  ctx.program
    .command('schema')
    .description('print the inventory JSON Schema (for editors: inventory.schema.json)')
    .action(() => {
      ctx.io.stdout(`${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`);
    });
}
