import type { ExposureGraph, GraphNode } from './exposure-graph.js';

/**
 * Mermaid flowchart text: the format of the architecture diagram this project grew from,
 * rendered by GitHub, GitLab and most wikis inside a ```mermaid block. Pure.
 */

/**
 * Label text inside `"..."`: Mermaid reads `#name;` entity codes there, so the characters
 * that would end the string, start an entity or be taken as HTML are written as entities.
 */
export function mermaidText(text: string): string {
  return text.replace(/[#"<>&]/g, (c) => ({ '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;', '&': '#amp;' })[c]!);
}

const SHAPES: Record<GraphNode['kind'], [string, string]> = {
  internet: ['((', '))'],
  hostname: ['[', ']'],
  tunnel: ['{{', '}}'],
  connector: ['[[', ']]'],
  guest: ['[', ']'],
  host: ['[', ']'],
  cloudflared: ['([', '])'],
  'catch-all': ['([', '])'],
};

function nodeLine(node: GraphNode): string {
  const [open, close] = SHAPES[node.kind];
  const label = [node.label, ...node.details].map(mermaidText).join('<br/>');
  return `  ${node.id}${open}"${label}"${close}`;
}

export function renderMermaid(graph: ExposureGraph): string {
  const lines = ['flowchart LR'];
  for (const node of graph.nodes) lines.push(nodeLine(node));
  for (const e of graph.edges) lines.push(e.label ? `  ${e.from} -->|"${mermaidText(e.label)}"| ${e.to}` : `  ${e.from} --> ${e.to}`);
  const classes: Record<string, string[]> = {};
  for (const node of graph.nodes) {
    const cls = node.kind === 'hostname' ? (node.details[0] === 'PROTECTED' ? 'protected' : 'public') : undefined;
    if (cls) (classes[cls] ??= []).push(node.id);
  }
  lines.push('  classDef public fill:#fde2e1,stroke:#c0392b', '  classDef protected fill:#e1f5e3,stroke:#2e7d32');
  for (const [cls, ids] of Object.entries(classes)) lines.push(`  class ${ids.join(',')} ${cls}`);
  return `${lines.join('\n')}\n`;
}
