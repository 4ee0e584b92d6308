import type { CliContext } from '../context.js';

export function registerStatus(ctx: CliContext): void {
  ctx.program
    .command('status')
    .description('tunnel health, connector state, and whether each route answers from the connector')
    .option('--json', 'machine-readable output', false)
    .action(async (flags: { json: boolean }) => {
      const { runStatus } = await import('../actions/status.js');
      await runStatus(ctx, flags);
    });
}
