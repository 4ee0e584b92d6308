import type { CliContext } from '../context.js';
import { GRAPH_FORMATS } from '../graph-formats.js';

export interface GraphFlags {
  format: string;
  json: boolean;
  offline: boolean;
}

export function registerGraph(ctx: CliContext): void {
  ctx.program
    .command('graph')
    .description('draw what is exposed: Internet → hostnames → tunnel → connector → guests and hosts (Mermaid, text or JSON)')
    .option('--format <format>', `output format: ${GRAPH_FORMATS.join(', ')}`, 'mermaid')
    .option('--json', 'same as --format json', false)
    .option('--offline', 'from the inventory alone: no API calls; discovered addresses show as "discovered at sync"', false)
    .action(async (flags: GraphFlags) => {
      const { runGraph } = await import('../actions/graph.js');
      await runGraph(ctx, flags);
    });
}
