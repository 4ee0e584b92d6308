import { UserError } from '../../core/errors.js';
import { renderGraphText } from '../../graph/render-graph-text.js';
import { renderMermaid } from '../../graph/render-mermaid.js';
import type { GraphResult } from '../../graph/read-graph.js';
import { graphFromActual, inventoryOnlyActual, readExposureGraph } from '../../graph/read-graph.js';
import { createRenderer } from '../../render/templates.js';
import { createCliReporter } from '../reporter.js';
import type { CliContext } from '../main.js';
import { globalOptions } from '../main.js';
import { loadForCli } from './validate.js';

export interface GraphFlags {
  format: string;
  json: boolean;
  offline: boolean;
}

const FORMATS = ['mermaid', 'text', 'json'] as const;

export function registerGraph(ctx: CliContext): void {
  ctx.program
    .command('graph')
    .description('draw what is exposed: Internet → hostnames → tunnel → connector → guests and hosts (Mermaid, text or JSON)')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'mermaid')
    .option('--json', 'same as --format json', false)
    .option('--offline', 'from the inventory alone: no API calls; discovered addresses show as "discovered at sync"', false)
    .action(async (flags: GraphFlags) => {
      const format = flags.json ? 'json' : flags.format;
      if (!(FORMATS as readonly string[]).includes(format)) {
        throw new UserError(`unknown graph format "${format}" (use ${FORMATS.join(', ')})`);
      }
      const inventory = await loadForCli(ctx);
      const result = flags.offline ? graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true) : await readLive(ctx, inventory);
      for (const w of result.warnings) ctx.io.stderr(`warning: ${w}\n`);
      const { graph } = result;
      ctx.io.stdout(format === 'json' ? `${JSON.stringify(graph, null, 2)}\n` : format === 'text' ? renderGraphText(graph) : renderMermaid(graph));
    });
}

async function readLive(ctx: CliContext, inventory: Awaited<ReturnType<typeof loadForCli>>): Promise<GraphResult> {
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
