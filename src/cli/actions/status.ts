import { renderPublicChecks, renderStatus, renderStatusJson } from '../../status/render-status.js';
import { checkPublicRoutes, publicTargets, type PublicCheck } from '../../status/public-check.js';
import { readStatus } from '../../status/read-status.js';
import { createRenderer } from '../../render/templates.js';
import { createCliReporter } from '../reporter.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';

export async function runStatus(ctx: CliContext, flags: { json: boolean; public?: boolean }): Promise<void> {
  const inventory = await loadForCli(ctx);
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: ctx.io.stderr, tty: ctx.io.isTTY, color: g.color, verbose: g.verbose });
  const ports = await ctx.io.createPorts(inventory, reporter);
  try {
    const status = await readStatus(inventory, ports, createRenderer(), reporter);
    let checks: PublicCheck[] | undefined;
    if (flags.public) {
      const targets = publicTargets(status.routes);
      reporter.step('status', `requesting ${targets.length} hostname${targets.length === 1 ? '' : 's'} from here, as a visitor`);
      checks = await checkPublicRoutes(targets, ctx.io.env);
      reporter.done('status');
    }
    reporter.stop();
    const out = flags.json
      ? `${JSON.stringify({ ...(renderStatusJson(status) as object), ...(checks ? { public: checks } : {}) }, null, 2)}\n`
      : renderStatus(status, { color: g.color }) + (checks ? renderPublicChecks(checks, { color: g.color }) : '');
    ctx.io.stdout(out);
  } finally {
    reporter.stop();
    await ports.close();
  }
}
