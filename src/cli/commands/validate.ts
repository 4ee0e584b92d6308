import type { CliContext } from '../context.js';

export function registerValidate(ctx: CliContext): void {
  ctx.program
    .command('validate')
    .description('check the inventory (schema and cross-references); no network')
    .action(async () => {
      const { runValidate } = await import('../actions/validate.js');
      await runValidate(ctx);
    });
}
