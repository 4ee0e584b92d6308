import type { ExposureGraph } from './exposure-graph.js';
import { ANY_HOSTNAME } from './exposure-graph.js';

/** The exposure for a terminal: what passes the tunnel, one line per route in ingress order. Pure. */
export function renderGraphText(graph: ExposureGraph): string {
  const node = new Map(graph.nodes.map((n) => [n.id, n]));
  const tunnel = node.get('tunnel')!;
  const out = [`Internet → tunnel ${graph.tunnel.name} (${tunnel.details.join(', ')})`];
  for (const c of graph.nodes.filter((n) => n.kind === 'connector')) out.push(`  → ${c.label} (${c.details.join(', ')})`);
  out.push('');
  const rows = graph.routes.map((r) => {
    const target = node.get(r.target)!;
    const where = target.kind === 'cloudflared' ? 'cloudflared itself' : `${target.label} (${target.details[0]})`;
    return [`${r.hostname === '' ? ANY_HOSTNAME : r.hostname}${r.path ? ` ${r.path}` : ''}`, r.exposure, r.service, where];
  });
  rows.push(['anything else', '', graph.catchAll, 'catch-all']);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) {
    out.push(`  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  → ${row[2]!.padEnd(widths[2]!)}  ${row[3]}`.trimEnd());
  }
  const open = graph.routes.filter((r) => r.exposure === 'PUBLIC').length;
  out.push(
    '',
    `${graph.routes.length} route${graph.routes.length === 1 ? '' : 's'}: ${open} PUBLIC, ${graph.routes.length - open} PROTECTED.`,
  );
  if (graph.offline) out.push('Built from the inventory alone (--offline): guest addresses are discovered at sync.');
  return `${out.join('\n')}\n`;
}
