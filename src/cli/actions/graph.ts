import { UserError } from '../../core/errors.js';
import { renderGraphText } from '../../graph/render-graph-text.js';
import { renderMermaid } from '../../graph/render-mermaid.js';
import type { GraphResult } from '../../graph/read-graph.js';
import { graphFromActual, inventoryOnlyActual, readExposureGraph } from '../../graph/read-graph.js';
import type { Inventory } from '../../inventory/types.js';
import { createRenderer } from '../../render/templates.js';
import type { GraphFlags } from '../commands/graph.js';
import { GRAPH_FORMATS } from '../graph-formats.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';
import { createCliReporter } from '../reporter.js';

export async function runGraph(ctx: CliContext, flags: GraphFlags): Promise<void> {
  const format = flags.json ? 'json' : flags.format;
  if (!(GRAPH_FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`unknown graph format "${format}" (use ${GRAPH_FORMATS.join(', ')})`);
  }
  const inventory = await loadForCli(ctx);
  const result = flags.offline
    ? graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true)
    : await readLive(ctx, inventory);
  for (const w of result.warnings) ctx.io.stderr(`warning: ${w}\n`);
  const { graph } = result;
  ctx.io.stdout(
    format === 'json' ? `${JSON.stringify(graph, null, 2)}\n` : format === 'text' ? renderGraphText(graph) : renderMermaid(graph),
  );
}

async function readLive(ctx: CliContext, inventory: Inventory): Promise<GraphResult> {
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: ctx.io.stderr, tty: ctx.io.isTTY, color: g.color, verbose: g.verbose });
  const ports = await ctx.io.createPorts(inventory, reporter);
  try {
    reporter.step('graph', 'reading Proxmox, Cloudflare and the connector');
    const result = await readExposureGraph(inventory, ports, createRenderer(), reporter);
    reporter.done('graph');
    return result;
  } finally {
    reporter.stop();
    await ports.close();
  }
}
