import type { CliContext } from '../context.js';
import { ADOPTABLE_KINDS } from '../../plan/ownership.js';

export interface SyncFlags {
  dryRun: boolean;
  yes: boolean;
  json: boolean;
  detailedExitcode: boolean;
  /** `--adopt` (true: every adoptable kind) or `--adopt=dns,...`. */
  adopt: boolean | string;
  allowMassDelete: boolean;
  templates?: string;
  showUnchanged: boolean;
}

export function registerSync(ctx: CliContext): void {
  ctx.program
    .command('sync')
    .description('plan, then apply (asks for confirmation on a TTY unless --yes)')
    .option('--dry-run', 'read everything, print the plan as a diff, change nothing', false)
    .option('-y, --yes', 'apply without asking', false)
    .option('--json', 'print the plan (and the apply result) as JSON on stdout', false)
    .option('--detailed-exitcode', 'with --dry-run: exit 0 when there are no changes, 2 when there are, 1 on error', false)
    .option(
      '--adopt [kinds]',
      `take over foreign resources on names the inventory wants (all kinds, or a comma-separated list of: ${ADOPTABLE_KINDS.join(', ')})`,
      false,
    )
    .option('--allow-mass-delete', 'allow deleting more of our DNS records than settings.maxDeletes', false)
    .option('--templates <dir>', 'directory with config.yml.hbs / cloudflared.service.hbs overriding the built-in templates')
    .option('--show-unchanged', 'also list resources that need no change', false)
    .action(async (flags: SyncFlags) => {
      const { runSync } = await import('../actions/sync.js');
      await runSync(ctx, flags);
    });
}
