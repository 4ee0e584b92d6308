import type { CliContext } from '../context.js';

export function registerDemo(ctx: CliContext): void {
  ctx.program
    .command('demo')
    .description('the whole flow against the bundled simulated homelab (no account, no homelab needed)')
    .option('--keep', 'leave the demo directory in place and print its path', false)
    .action(async (flags: { keep: boolean }) => {
      // The simulators are loaded only here, never by the other commands.
      const { runDemo } = await import('../../demo/run-demo.js');
      await runDemo(ctx, flags);
    });
}
