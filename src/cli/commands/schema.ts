import type { CliContext } from '../context.js';

export function registerSchema(ctx: CliContext): void {
  ctx.program
    .command('schema')
    .description('print the inventory JSON Schema (for editors: inventory.schema.json)')
    .action(async () => {
      const { inventoryJsonSchema } = await import('../../inventory/json-schema.js');
      ctx.io.stdout(`${JSON.stringify(inventoryJsonSchema(), null, 2)}\n`);
    });
}
