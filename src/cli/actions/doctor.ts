import { ExitError, UserError } from '../../core/errors.js';
import { renderDoctor, report, runDoctor } from '../../doctor/run-doctor.js';
import { check, type DoctorReport } from '../../doctor/types.js';
import { createCliReporter } from '../reporter.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';

export async function runDoctorCommand(ctx: CliContext, flags: { json: boolean }): Promise<void> {
  const g = globalOptions(ctx);
  const print = (r: DoctorReport) => ctx.io.stdout(flags.json ? `${JSON.stringify(r, null, 2)}\n` : renderDoctor(r, { color: g.color }));
  let inventory;
  try {
    inventory = await loadForCli(ctx);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // An invalid inventory is the first failed check; nothing else can run without it.
    print(
      report([
        check(
          'inventory',
          `inventory ${g.inventory}`,
          'fail',
          err.message,
          'fix the problems listed (each names the file, line and field); `proxflare validate` checks again',
        ),
      ]),
    );
    throw new ExitError(1);
  }
  const reporter = createCliReporter({ write: ctx.io.stderr, tty: ctx.io.isTTY, color: g.color, verbose: g.verbose });
  const ports = await ctx.io.createPorts(inventory, reporter);
  let result: DoctorReport;
  try {
    result = await runDoctor(inventory, ports, reporter);
  } finally {
    reporter.stop();
    await ports.close();
  }
  print(result);
  if (!result.ok) throw new ExitError(1);
}
