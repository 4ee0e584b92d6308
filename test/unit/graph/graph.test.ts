import { fileURLToPath } from 'node:url';
import { JSDOM } from 'jsdom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExposureGraph } from '../../../src/graph/exposure-graph.js';
import type { ExposureGraph } from '../../../src/graph/exposure-graph.js';
import { graphFromActual, inventoryOnlyActual } from '../../../src/graph/read-graph.js';
import { mermaidText, renderMermaid } from '../../../src/graph/render-mermaid.js';
import { renderGraphText } from '../../../src/graph/render-graph-text.js';
import { loadInventory } from '../../../src/inventory/load.js';
import { createRenderer } from '../../../src/render/templates.js';
import { computeDesired } from '../../../src/plan/desired-state.js';
import { BASE_INVENTORY, fakeHomelab } from '../../support/fake-homelab.js';
import { MINIMAL, load } from '../inventory/helpers.js';

const EXAMPLE = fileURLToPath(new URL('../../../inventory.yaml', import.meta.url));

/** Mermaid's own parser (the one GitHub's renderer runs); it needs a DOM for its sanitizer, so jsdom provides one. */
type MermaidDiagram = { db: { getVertices(): Map<string, { text: string }>; getEdges(): { start: string; end: string; text: string }[] } };
let mermaid: { parse(text: string): Promise<unknown>; mermaidAPI: { getDiagramFromText(text: string): Promise<MermaidDiagram> } };
const globals = globalThis as Record<string, unknown>;
const saved = { window: globals.window, document: globals.document };
let dom: JSDOM;

beforeAll(async () => {
  dom = new JSDOM('<!doctype html><html><body></body></html>');
  Object.assign(globals, { window: dom.window, document: dom.window.document });
  mermaid = (await import('mermaid')).default as unknown as typeof mermaid;
});
afterAll(() => Object.assign(globals, saved));

async function exampleGraph(): Promise<ExposureGraph> {
  const inventory = await loadInventory(EXAMPLE, { env: {}, dotenv: false });
  return graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true).graph;
}

describe('proxflare graph on the example inventory (--offline)', () => {
  it('prints Mermaid that Mermaid parses, with one node per hostname, tunnel, connector and origin', async () => {
    const graph = await exampleGraph();
    const text = renderMermaid(graph);
    await expect(mermaid.parse(text)).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const labels = [...diagram.db.getVertices().values()].map((v) => v.text.split('<br>'));
    const byFirstLine = (prefix: RegExp) => labels.filter((l) => prefix.test(l[0]!)).map((l) => l[0]);
    expect(byFirstLine(/example\.com$/).sort()).toEqual(
      ['*.example.com', 'cloud.example.com', 'home.example.com', 'media.example.com', 'nas.example.com', 'pve.example.com'].sort(),
    );
    expect(byFirstLine(/^tunnel /)).toEqual(['tunnel homelab']);
    expect(byFirstLine(/^connector /)).toEqual(['connector cloudflared']);
    expect(byFirstLine(/^(jellyfin|nextcloud|homeassistant|proxy|nas|pve)$/).sort()).toEqual([
      'homeassistant',
      'jellyfin',
      'nas',
      'nextcloud',
      'proxy',
      'pve',
    ]);
    // Internet, 6 hostnames, tunnel, connector, 6 origins, catch-all.
    expect(labels).toHaveLength(16);
    const edges = diagram.db.getEdges();
    expect(edges.filter((e) => e.start === 'internet')).toHaveLength(6);
    expect(edges.filter((e) => e.end === 'tunnel')).toHaveLength(6);
    expect(edges.find((e) => e.text.startsWith('pve.example.com'))!.text).toBe('pve.example.com → https://192.168.1.2:8006');
    expect(edges.find((e) => e.text.startsWith('media.example.com'))!.text).toBe('media.example.com → http://(discovered at sync):8096');
  });

  it('prints plain text for terminals: every route in ingress order with its exposure and origin', async () => {
    expect(renderGraphText(await exampleGraph())).toBe(
      [
        'Internet → tunnel homelab (id read at sync)',
        '  → connector cloudflared (LXC on pve, 192.168.1.50)',
        '',
        '  cloud.example.com  PUBLIC  → https://192.168.1.20:443          nextcloud (VM 200 on pve)',
        '  home.example.com   PUBLIC  → http://(discovered at sync):8123  homeassistant (VM 201 on pve)',
        '  media.example.com  PUBLIC  → http://(discovered at sync):8096  jellyfin (LXC 101 on pve)',
        '  nas.example.com    PUBLIC  → https://192.168.1.5:5001          nas (host)',
        '  pve.example.com    PUBLIC  → https://192.168.1.2:8006          pve (host, Proxmox node)',
        '  *.example.com      PUBLIC  → https://192.168.1.30:443          proxy (LXC 110 on pve)',
        '  anything else              → http_status:404                   catch-all',
        '',
        '6 routes: 6 PUBLIC, 0 PROTECTED.',
        'Built from the inventory alone (--offline): guest addresses are discovered at sync.',
        '',
      ].join('\n'),
    );
  });

  it('warns that the Proxmox UI is published without Access, as the plan does', async () => {
    const inventory = await loadInventory(EXAMPLE, { env: {}, dotenv: false });
    const { warnings } = graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true);
    expect(warnings.filter((w) => w.includes('WITHOUT Access'))).toEqual([
      expect.stringContaining('pve.example.com publishes the Proxmox node pve (192.168.1.2)'),
    ]);
  });
});

describe('graph details', () => {
  const services = `hosts:
  - name: box
    address: 192.168.1.9
    services:
      - { hostname: hello.example.com, scheme: hello_world }
      - { hostname: bastion.example.com, scheme: bastion }
      - hostname: admin.example.com
        port: 8080
        path: '^/a"b#c<d>&'
        originRequest: { access: { required: true, teamName: team, audTag: [aud] } }
      - { hostname: admin.example.com, port: 8080 }
      - { path: ^/metrics$, scheme: http_status, status: 403 }
`;

  it('shows services cloudflared answers itself at the connector, path rules without hostname, and PROTECTED routes', async () => {
    const inventory = await load(MINIMAL + services);
    const graph = graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true).graph;
    const node = (label: string) => graph.nodes.find((n) => n.label === label);
    expect(node('hello_world')).toMatchObject({ kind: 'cloudflared', details: ['served by cloudflared on the connector'] });
    expect(node('bastion')).toMatchObject({ kind: 'cloudflared' });
    expect(node('(any hostname)')).toMatchObject({ kind: 'hostname', details: ['PUBLIC'] });
    // One of admin's two rules is protected: the hostname as a whole is still PUBLIC.
    expect(node('admin.example.com')!.details).toEqual(['PUBLIC']);
    expect(graph.routes.filter((r) => r.hostname === 'admin.example.com').map((r) => r.exposure)).toEqual(['PROTECTED', 'PUBLIC']);
    const text = renderMermaid(graph);
    await expect(mermaid.parse(text)).resolves.toBeTruthy();
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    // Mermaid keeps entities encoded until it draws; decoded as it does (mermaidAPI decodeEntities, then
    // the browser's HTML parser), the label is exactly the path the user wrote.
    const label = diagram.db.getEdges().find((e) => e.start === 'c0' && e.text.startsWith('admin.example.com ^'))!.text;
    const html = label.replace(/ﬂ°°/g, '&#').replace(/ﬂ°/g, '&').replace(/¶ß/g, ';');
    const element = dom.window.document.createElement('div');
    element.innerHTML = html;
    expect(element.textContent).toBe('admin.example.com ^/a"b#c<d>& → http://192.168.1.9:8080');
    expect(mermaidText('a"b#c<d>&')).toBe('a#quot;b#35;c#lt;d#gt;#amp;');
  });

  it('--json carries the same graph: routes in ingress order and the nodes and edges Mermaid draws', async () => {
    const inventory = await load(MINIMAL + services);
    const { graph } = graphFromActual(inventory, inventoryOnlyActual(inventory), createRenderer(), true);
    const json = JSON.parse(JSON.stringify(graph)) as ExposureGraph;
    expect(json.routes.map((r) => `${r.hostname}|${r.path ?? ''}|${r.service}`)).toEqual([
      'admin.example.com|^/a"b#c<d>&|http://192.168.1.9:8080',
      'admin.example.com||http://192.168.1.9:8080',
      'bastion.example.com||bastion',
      'hello.example.com||hello_world',
      '|^/metrics$|http_status:403',
    ]);
    expect(json.routes[0]!.origin).toEqual({ kind: 'host', name: 'box', address: '192.168.1.9', proxmoxNode: false });
    expect(json.routes[0]!.originRequest).toEqual({ access: { required: true, teamName: 'team', audTag: ['aud'] } });
    expect(json.edges.length).toBe(graph.edges.length);
  });

  it('is built from the same desired state as the plan (live addresses, tunnel id)', async () => {
    const lab = await fakeHomelab(BASE_INVENTORY);
    expect((await lab.cli('sync', '--yes')).code).toBe(0);
    const r = await lab.cli('graph', '--json');
    expect(r.code, r.stderr).toBe(0);
    const graph = JSON.parse(r.stdout) as ExposureGraph;
    expect(graph.offline).toBe(false);
    expect(graph.tunnel.id).toBe(lab.cloudflare.tunnels[0]!.id);
    expect(graph.connectors).toEqual([{ name: 'cloudflared', node: 'pve', address: '192.0.2.50' }]);
    expect(graph.routes.find((r) => r.hostname === 'media.example.com')).toMatchObject({
      service: 'http://192.0.2.11:8096',
      origin: { kind: 'guest', name: 'jellyfin', address: '192.0.2.11', addressSource: 'interfaces' },
    });
    // The same rules the plan rendered into config.yml, in the same order.
    const inventory = await lab.load();
    const planned = computeDesired(inventory, { ...(await readState(lab)) }, createRenderer());
    expect(graph.routes.map((x) => x.service)).toEqual(planned.origins.map((o) => o.service));
    expect(buildExposureGraph(inventory, await readState(lab), planned, { offline: false }).routes).toEqual(graph.routes);

    const text = await lab.cli('graph', '--format', 'text');
    expect(text.stdout).toContain('  media.example.com  PUBLIC  → http://192.0.2.11:8096');
    const offline = await lab.cli('graph', '--offline', '--format', 'text');
    expect(offline.stdout).toContain('  media.example.com  PUBLIC  → http://(discovered at sync):8096');
    expect((await lab.cli('graph', '--format', 'svg')).stderr).toContain('unknown graph format "svg"');
  });
});

async function readState(lab: Awaited<ReturnType<typeof fakeHomelab>>) {
  const { readActual } = await import('../../../src/sync/read-actual.js');
  const { silentReporter } = await import('../../../src/core/reporter.js');
  const read = await readActual(await lab.load(), lab.ports, silentReporter);
  await read.host?.close();
  return read.actual;
}
