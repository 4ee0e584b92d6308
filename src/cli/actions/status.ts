import { renderStatus, renderStatusJson } from '../../status/render-status.js';
import { readStatus } from '../../status/read-status.js';
import { createRenderer } from '../../render/templates.js';
import { createCliReporter } from '../reporter.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';

export async function runStatus(ctx: CliContext, flags: { json: boolean }): Promise<void> {
  const inventory = await loadForCli(ctx);
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: ctx.io.stderr, tty: ctx.io.isTTY, color: g.color, verbose: g.verbose });
  const ports = await ctx.io.createPorts(inventory, reporter);
  try {
    const status = await readStatus(inventory, ports, createRenderer(), reporter);
    reporter.stop();
    ctx.io.stdout(flags.json ? `${JSON.stringify(renderStatusJson(status), null, 2)}\n` : renderStatus(status, { color: g.color }));
  } finally {
    reporter.stop();
    await ports.close();
  }
}
