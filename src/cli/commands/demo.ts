import type { CliContext } from '../context.js';

export function registerDemo(ctx: CliContext): void {
  ctx.program
    .command('demo')
    .description('the whole flow against the bundled simulated homelab (no account, no homelab needed)')
    .option('--keep', 'leave the demo directory in place and print its path', false)
    .option('--import', 'instead: a homelab that already has a tunnel, imported and adopted', false)
    .option('--ha', 'instead: two connector replicas on two Proxmox nodes: rolling change, one killed, recovery', false)
    .action(async (flags: { keep: boolean; import: boolean; ha: boolean }) => {
      // The simulators are loaded only here, never by the other commands.
      if (flags.import) {
        const { runImportDemo } = await import('../../demo/run-import-demo.js');
        await runImportDemo(ctx, flags);
        return;
      }
      if (flags.ha) {
        const { runHaDemo } = await import('../../demo/run-ha-demo.js');
        await runHaDemo(ctx, flags);
        return;
      }
      const { runDemo } = await import('../../demo/run-demo.js');
      await runDemo(ctx, flags);
    });
}
