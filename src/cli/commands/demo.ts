import type { CliContext } from '../context.js';

export function registerDemo(ctx: CliContext): void {
  ctx.program
    .command('demo')
    .description('the whole flow against the bundled simulated homelab (no account, no homelab needed)')
    .option('--keep', 'leave the demo directory in place and print its path', false)
    .option('--ha', 'two connector replicas on two Proxmox nodes: rolling change, one killed, recovery', false)
    .action(async (flags: { keep: boolean; ha: boolean }) => {
      // The simulators are loaded only here, never by the other commands.
      if (flags.ha) {
        const { runHaDemo } = await import('../../demo/run-ha-demo.js');
        await runHaDemo(ctx, flags);
        return;
      }
      const { runDemo } = await import('../../demo/run-demo.js');
      await runDemo(ctx, flags);
    });
}
