import type { CliContext } from '../context.js';

export interface ImportFlags {
  tunnel: string;
  /** Every `--connector` given, in order; none: connector.ssh.host of -i. */
  connector?: string[];
  output?: string;
}

export function registerImport(ctx: CliContext): void {
  ctx.program
    .command('import')
    .description('read an existing tunnel, its connector and DNS, and write an inventory for them (changes nothing)')
    .requiredOption('--tunnel <name>', 'the existing tunnel to import')
    .option(
      '--connector <host>',
      'SSH address of a host running its cloudflared; repeat it for each replica (default: connector.ssh.host of -i)',
      collect,
    )
    .option('-o, --output <file>', 'write the inventory here instead of stdout (never overwrites)')
    .action(async (flags: ImportFlags) => {
      const { runImport } = await import('../actions/import.js');
      await runImport(ctx, flags);
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
