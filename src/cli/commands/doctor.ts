import type { CliContext } from '../context.js';

export function registerDoctor(ctx: CliContext): void {
  ctx.program
    .command('doctor')
    .description('check everything a sync needs (inventory, Proxmox, Cloudflare, each connector), each with its fix; exit 0 when all pass')
    .option('--json', 'machine-readable output', false)
    .action(async (flags: { json: boolean }) => {
      const { runDoctorCommand } = await import('../actions/doctor.js');
      await runDoctorCommand(ctx, flags);
    });
}
