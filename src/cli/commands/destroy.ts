import type { CliContext } from '../context.js';

export interface DestroyFlags {
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  detailedExitcode: boolean;
  keepConnector: boolean;
  allowMassDelete: boolean;
}

export function registerDestroy(ctx: CliContext): void {
  ctx.program
    .command('destroy')
    .description("take down everything proxflare made for the inventory's tunnel (asks you to type the tunnel name unless --yes)")
    .option('--dry-run', 'read everything and print what would be destroyed; change nothing', false)
    .option('-y, --yes', 'destroy without asking', false)
    .option('--json', 'print the plan (and the result) as JSON on stdout', false)
    .option('--detailed-exitcode', 'with --dry-run: exit 0 when there is nothing to destroy, 2 when there is, 1 on error', false)
    .option('--keep-connector', 'leave the connector LXC in place; remove only what cloudflared serves', false)
    .option('--allow-mass-delete', 'allow deleting more of our DNS records than settings.maxDeletes', false)
    .action(async (flags: DestroyFlags) => {
      const { runDestroy } = await import('../actions/destroy.js');
      await runDestroy(ctx, flags);
    });
}
