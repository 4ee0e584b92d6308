import { ExitError, UserError } from '../../core/errors.js';
import type { Inventory } from '../../inventory/types.js';
import { renderPlan } from '../../plan/render-plan.js';
import { renderPlanJson } from '../../plan/render-plan-json.js';
import { hasChanges, type Plan } from '../../plan/types.js';
import { createRenderer } from '../../render/templates.js';
import { assertLocalPrerequisites } from '../../sync/local-prerequisites.js';
import { releaseLocalLockNow, takeLocalLock } from '../../sync/local-lock.js';
import { ApplyInterrupted } from '../../apply/stop-request.js';
import { INTERRUPTED_EXIT, handleInterrupts } from '../interrupts.js';
import { applySync, planSync } from '../../sync/run-sync.js';
import { closeRead } from '../../sync/read-actual.js';
import { createCliReporter } from '../reporter.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';
import type { SyncFlags } from '../commands/sync.js';
import { parseAdoptKinds } from '../../plan/ownership.js';

export async function runSync(ctx: CliContext, flags: SyncFlags): Promise<void> {
  const inventory = await loadForCli(ctx);
  await runSyncCommand(ctx, inventory, flags);
}

export async function runSyncCommand(ctx: CliContext, inventory: Inventory, flags: SyncFlags): Promise<void> {
  const { io } = ctx;
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: io.stderr, tty: io.isTTY, color: g.color, verbose: g.verbose });
  for (const w of inventory.warnings) reporter.warn(w);
  const renderer = createRenderer(flags.templates ? { templatesDir: flags.templates } : {});
  const adopt = parseAdoptKinds(flags.adopt);
  if (typeof adopt === 'string') throw new UserError(`--adopt: ${adopt}`);
  const planOptions = { adopt, allowMassDelete: flags.allowMassDelete };
  // Local files are checked before anything is read or written, so a sync never stops half-way on them.
  await assertLocalPrerequisites(inventory);
  const ports = await io.createPorts(inventory, reporter);
  const releaseLocal = flags.dryRun ? undefined : await takeLocalLock(inventory.tunnel.name, 5_000, io.env.PROXFLARE_LOCK_DIR);
  // A dry-run writes nothing, so the default (die at once) is right for it.
  const interrupts = flags.dryRun
    ? undefined
    : handleInterrupts(io.stderr, () => releaseLocalLockNow(inventory.tunnel.name, io.env.PROXFLARE_LOCK_DIR));
  try {
    reporter.step('plan', 'reading Proxmox, Cloudflare and the connector');
    const planned = await planSync(inventory, ports, renderer, planOptions, reporter);
    reporter.done('plan');
    const { plan } = planned;
    const changes = hasChanges(plan);

    if (flags.json && flags.dryRun) io.stdout(`${JSON.stringify(renderPlanJson(plan), null, 2)}\n`);
    else if (!flags.json) io.stdout(renderPlan(plan, { color: g.color, showNoop: flags.showUnchanged }));

    await assertLocalPrerequisites(inventory, plan).catch(async (err: unknown) => {
      await closeRead(planned.read);
      throw err;
    });
    if (plan.conflicts.length > 0) {
      await closeRead(planned.read);
      throw new UserError(
        `${plan.conflicts.length} conflict${plan.conflicts.length === 1 ? '' : 's'} must be resolved before sync can apply:\n` +
          plan.conflicts.map((c) => `  - ${c.address}: ${c.message} (${c.hint})`).join('\n'),
      );
    }
    if (flags.dryRun || !changes) {
      await closeRead(planned.read);
      if (flags.json && !flags.dryRun) io.stdout(`${JSON.stringify({ plan: renderPlanJson(plan), apply: null }, null, 2)}\n`);
      throwIfUnresolved(plan);
      if (flags.dryRun && flags.detailedExitcode && changes) throw new ExitError(2);
      return;
    }

    if (!flags.yes) {
      if (!io.isTTY) {
        await closeRead(planned.read);
        throw new UserError(
          'refusing to apply without confirmation: not a terminal. Re-run with --yes to apply, or --dry-run to only look.',
        );
      }
      if (!(await io.confirm('Apply this plan?'))) {
        await closeRead(planned.read);
        io.stderr('Apply cancelled; nothing was changed.\n');
        return;
      }
    }

    if (interrupts?.stop.requested) {
      await planned.read.host?.close();
      io.stderr(`Interrupted (${interrupts.stop.reason}) before applying; nothing was changed.\n`);
      throw new ExitError(INTERRUPTED_EXIT);
    }
    const applied = await applySync(inventory, ports, renderer, planned, planOptions, reporter, interrupts?.stop).catch((err: unknown) => {
      if (err instanceof ApplyInterrupted) {
        reporter.stop();
        io.stderr(interruptedReport(err));
        throw new ExitError(INTERRUPTED_EXIT);
      }
      throw err;
    });
    reporter.stop();
    const converged = !hasChanges(applied.after);
    if (flags.json) {
      io.stdout(
        `${JSON.stringify(
          {
            plan: renderPlanJson(plan),
            apply: {
              applied: applied.result.applied,
              restarted: applied.result.restarted,
              converged,
              remaining: renderPlanJson(applied.after),
            },
          },
          null,
          2,
        )}\n`,
      );
    } else {
      io.stdout(
        `\nApply complete: ${applied.result.applied.length} change${applied.result.applied.length === 1 ? '' : 's'} applied` +
          `${applied.result.restarted ? ', cloudflared restarted' : ''}.\n` +
          (converged ? 'Re-read after apply: no changes left.\n' : 'Warning: re-read after apply still shows changes (see above).\n'),
      );
    }
    throwIfUnresolved(plan);
    if (!converged) throw new ExitError(1);
  } finally {
    interrupts?.dispose();
    reporter.stop();
    await releaseLocal?.();
    await ports.close();
  }
}

/** A partly resolved plan was shown (and the rest applied): exit 1 naming what was left out. */
function throwIfUnresolved(plan: Plan): void {
  const u = plan.unresolved ?? [];
  if (u.length === 0) return;
  throw new UserError(
    `${u.length} guest${u.length === 1 ? '' : 's'} could not be read, so ${u.length === 1 ? 'its' : 'their'} routes were left as they are (not changed, not deleted):\n` +
      u.map((x) => `  - ${x.hostnames.join(', ')}: ${x.error}`).join('\n'),
  );
}

function interruptedReport(err: ApplyInterrupted): string {
  const lines = [`Interrupted (${err.reason}): stopped between two changes; nothing is half-applied.`, ''];
  for (const a of err.applied) lines.push(`  ✓ applied  ${a.address} (${a.action})`);
  for (const p of err.pending) lines.push(`  · pending  ${p.address} (${p.action})`);
  lines.push('', 'Re-run `proxflare sync` to apply what is pending.');
  return `${lines.join('\n')}\n`;
}
