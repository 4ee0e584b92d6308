import type { CliContext } from '../context.js';

export function registerInit(ctx: CliContext): void {
  ctx.program
    .command('init')
    .description('write a commented starter inventory.yaml, inventory.schema.json and .env.example')
    .option('--force', 'overwrite existing files', false)
    .action(async (flags: { force: boolean }) => {
      const { runInit } = await import('../actions/init.js');
      await runInit(ctx, flags);
    });
}
