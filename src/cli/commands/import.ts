import type { CliContext } from '../context.js';

export interface ImportFlags {
  tunnel: string;
  connector?: string;
  output?: string;
}

export function registerImport(ctx: CliContext): void {
  ctx.program
    .command('import')
    .description('read an existing tunnel, its connector and DNS, and write an inventory for them (changes nothing)')
    .requiredOption('--tunnel <name>', 'the existing tunnel to import')
    .option('--connector <host>', 'SSH address of the host running its cloudflared (default: connector.ssh.host of -i)')
    .option('-o, --output <file>', 'write the inventory here instead of stdout (never overwrites)')
    .action(async (flags: ImportFlags) => {
      const { runImport } = await import('../actions/import.js');
      await runImport(ctx, flags);
    });
}
