/**
 * `proxflare graph` Mermaid output drawn by Mermaid itself in headless Chromium (Debian's
 * `chromium` package), the way GitHub or a wiki would draw it. Chromium runs in a new network
 * namespace (`unshare -n`), so it cannot reach anything but the files it is given.
 * The PNG is kept next to the SVG for a person to look at (path printed on stderr).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { graphFromActual, inventoryOnlyActual } from '../../src/graph/read-graph.js';
import { renderMermaid } from '../../src/graph/render-mermaid.js';
import { loadInventory } from '../../src/inventory/load.js';
import { createRenderer } from '../../src/render/templates.js';
import { chromiumGate } from './support/prerequisites.js';

const run = promisify(execFile);
const gate = chromiumGate('graph rendering in headless Chromium');
const MERMAID_JS = fileURLToPath(new URL('../../node_modules/mermaid/dist/mermaid.min.js', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../inventory.yaml', import.meta.url));

function page(diagram: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><script src="file://${MERMAID_JS}"></script></head>
<body style="margin:0;background:white"><div id="out"></div><script>
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', flowchart: { htmlLabels: false } });
mermaid.render('graph', ${JSON.stringify(diagram)}).then(
  (r) => { document.getElementById('out').innerHTML = r.svg; document.title = 'rendered'; },
  (e) => { document.title = 'mermaid error: ' + e.message; },
);
</script></body></html>`;
}

async function chromium(args: string[]): Promise<string> {
  const common = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--allow-file-access-from-files',
    '--virtual-time-budget=30000',
  ];
  const { stdout } = await run('unshare', ['-n', 'chromium', ...common, ...args], { maxBuffer: 32 * 1024 * 1024, timeout: 120_000 });
  return stdout;
}

describe.skipIf(gate.skip)('proxflare graph drawn by Mermaid in headless Chromium', () => {
  it('renders the example inventory to an SVG with every node and edge, and a PNG to look at', { timeout: 180_000 }, async () => {
    const inventory = await loadInventory(EXAMPLE, { env: {}, dotenv: false });
    const { graph } = graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true);
    const dir = await mkdtemp(join(tmpdir(), 'proxflare-graph-'));
    const html = join(dir, 'graph.html');
    await writeFile(html, page(renderMermaid(graph)));

    const dom = await chromium(['--dump-dom', `file://${html}`]);
    expect(dom).toContain('<title>rendered</title>');
    const svg = dom.slice(dom.indexOf('<svg'), dom.lastIndexOf('</svg>') + 6);
    await writeFile(join(dir, 'graph.svg'), svg);
    expect(svg).toContain('aria-roledescription="flowchart-v2"');
    // One drawn node per graph node (Internet, 6 hostnames, tunnel, connector, 6 origins, catch-all).
    const drawn = [...svg.matchAll(/<g class="node [^"]*" id="graph-flowchart-([a-z0-9]+)-\d+"/g)].map((m) => m[1]);
    expect(drawn.sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    expect([...svg.matchAll(/<g class="node default public"/g)]).toHaveLength(6);
    for (const text of ['pve.example.com', 'https://192.168.1.2:8006', 'tunnel homelab', 'connector cloudflared', '(discovered at sync)']) {
      expect(svg).toContain(text);
    }

    const png = join(dir, 'graph.png');
    await chromium(['--window-size=1400,1200', `--screenshot=${png}`, `file://${html}`]);
    const bytes = await readFile(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect((await stat(png)).size).toBeGreaterThan(20_000);
    process.stderr.write(`graph drawn by Chromium: ${png} (SVG: ${join(dir, 'graph.svg')})\n`);
  });
});
