import { ExitError, UserError } from '../../core/errors.js';
import { applyDestroyRun, planDestroyRun } from '../../destroy/run-destroy.js';
import { renderDestroyJson, renderDestroyPlan } from '../../plan/render-destroy.js';
import { hasChanges } from '../../plan/types.js';
import { takeLocalLock } from '../../sync/local-lock.js';
import { closeRead } from '../../sync/read-actual.js';
import type { DestroyFlags } from '../commands/destroy.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';
import { createCliReporter } from '../reporter.js';

export async function runDestroy(ctx: CliContext, flags: DestroyFlags): Promise<void> {
  const inventory = await loadForCli(ctx);
  const { io } = ctx;
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: io.stderr, tty: io.isTTY, color: g.color, verbose: g.verbose });
  for (const w of inventory.warnings) reporter.warn(w);
  const options = { keepConnector: flags.keepConnector, allowMassDelete: flags.allowMassDelete };
  const tunnel = inventory.tunnel.name;
  const ports = await io.createPorts(inventory, reporter);
  const releaseLocal = flags.dryRun ? undefined : await takeLocalLock(tunnel, 5_000, io.env.PROXFLARE_LOCK_DIR);
  try {
    reporter.step('plan', 'reading Proxmox, Cloudflare and the connector');
    const planned = await planDestroyRun(inventory, ports, options, reporter);
    reporter.done('plan');
    const { plan } = planned;
    const changes = hasChanges(plan);
    if (flags.json && flags.dryRun) io.stdout(`${JSON.stringify(renderDestroyJson(plan), null, 2)}\n`);
    else if (!flags.json) io.stdout(renderDestroyPlan(plan, tunnel, { color: g.color }));

    if (flags.dryRun || !changes) {
      await closeRead(planned.read);
      if (flags.json && !flags.dryRun) io.stdout(`${JSON.stringify({ plan: renderDestroyJson(plan), apply: null }, null, 2)}\n`);
      if (flags.dryRun && flags.detailedExitcode && changes) throw new ExitError(2);
      return;
    }

    if (!flags.yes) {
      const prompt = io.prompt;
      if (!io.isTTY || !prompt) {
        await closeRead(planned.read);
        throw new UserError(
          'refusing to destroy without confirmation: not a terminal. Re-run with --yes to destroy, or --dry-run to only look.',
        );
      }
      // Typing the name (as GitHub asks before deleting a repository) cannot be done by reflex.
      const typed = await prompt(`This deletes what is listed above. Type the tunnel name (${tunnel}) to confirm:`);
      if (typed.trim() !== tunnel) {
        await closeRead(planned.read);
        io.stderr('Destroy cancelled; nothing was changed.\n');
        return;
      }
    }

    const done = await applyDestroyRun(inventory, ports, planned, options, reporter);
    reporter.stop();
    const clean = !hasChanges(done.after);
    if (flags.json) {
      io.stdout(
        `${JSON.stringify({ plan: renderDestroyJson(plan), apply: { applied: done.applied, clean, remaining: renderDestroyJson(done.after) } }, null, 2)}\n`,
      );
    } else {
      io.stdout(
        `\nDestroy complete: ${done.applied.length} resource${done.applied.length === 1 ? '' : 's'} removed.\n` +
          (clean
            ? `Re-read after destroy: nothing of tunnel ${tunnel} is left.\n`
            : 'Warning: re-read after destroy still finds resources (see above).\n'),
      );
    }
    if (!clean) throw new ExitError(1);
  } finally {
    reporter.stop();
    await releaseLocal?.();
    await ports.close();
  }
}
