import type { CliContext } from '../main.js';
import { runDemo } from '../../demo/run-demo.js';

export function registerDemo(ctx: CliContext): void {
  ctx.program
    .command('demo')
    .description('the whole flow against the bundled simulated homelab (no account, no homelab needed)')
    .option('--keep', 'leave the demo directory in place and print its path', false)
    .action(async (flags: { keep: boolean }) => {
      await runDemo(ctx, flags);
    });
}
