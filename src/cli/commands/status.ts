import type { CliContext } from '../context.js';

export function registerStatus(ctx: CliContext): void {
  ctx.program
    .command('status')
    .description('tunnel health, connector state, and whether each route answers from the connector')
    .option('--json', 'machine-readable output', false)
    .option('--public', 'also request each hostname from here, as a visitor (through Cloudflare), and report its status code', false)
    .action(async (flags: { json: boolean; public: boolean }) => {
      const { runStatus } = await import('../actions/status.js');
      await runStatus(ctx, flags);
    });
}
