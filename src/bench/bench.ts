/**
 * `npm run bench`: no-op and full-apply syncs for 10, 100 and 1,000 services against the
 * simulators (25 ms injected latency per API request) and the sandbox SSH connector, plus
 * the pure load+plan time of a 1,000-service inventory. Each scenario runs in its own child
 * process so peak RSS is its own. Everything listens on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { main } from '../cli/main.js';
import type { CliIo } from '../cli/io.js';
import { generatedGuestIp, startSimulatedHomelab } from '../demo/simulated-homelab.js';
import type { SimulatedHomelab } from '../demo/simulated-homelab.js';
import { loadInventory } from '../inventory/load.js';
import { computePlan } from '../plan/compute-plan.js';
import { createRenderer } from '../render/templates.js';
import { computeDesired } from '../plan/desired-state.js';
import type { ActualState } from '../plan/actual-state.js';
import type { GuestIp } from '../ports/proxmox.js';
import { ADOPT_NOTHING } from '../plan/ownership.js';

const SIZES = [10, 100, 1000];
const LATENCY_MS = 25;
const UNRELATED_RECORDS = 4000;

interface Row {
  scenario: string;
  services: number;
  wallMs: number;
  proxmoxRequests: number;
  cloudflareRequests: number;
  sshRoundTrips: number;
  peakRssMiB: number;
}

async function runScenario(services: number): Promise<Row[]> {
  const lab = await startSimulatedHomelab({ guests: services, latencyMs: LATENCY_MS, unrelatedRecords: UNRELATED_RECORDS, taskDurationMs: 200 });
  try {
    const rows: Row[] = [];
    const measure = async (scenario: string, args: string[], expect: number) => {
      const pve0 = lab.proxmox.requests.length;
      const cf0 = lab.cloudflare.requests.length;
      const ssh0 = lab.sshRoundTrips();
      const t0 = performance.now();
      const code = await cli(lab, args);
      const wallMs = performance.now() - t0;
      if (code !== expect) throw new Error(`${scenario} with ${services} services exited ${code}, expected ${expect}`);
      rows.push({
        scenario,
        services,
        wallMs,
        proxmoxRequests: lab.proxmox.requests.length - pve0,
        cloudflareRequests: lab.cloudflare.requests.length - cf0,
        sshRoundTrips: lab.sshRoundTrips() - ssh0,
        peakRssMiB: process.resourceUsage().maxRSS / 1024,
      });
    };
    await measure('full apply (sync --yes, incl. convergence re-read)', ['sync', '--yes'], 0);
    await measure('no-op plan (sync --dry-run)', ['sync', '--dry-run', '--detailed-exitcode'], 0);
    return rows;
  } finally {
    await lab.close();
  }
}

async function cli(lab: SimulatedHomelab, args: string[]): Promise<number> {
  const io: CliIo = {
    stdout: () => undefined,
    stderr: () => undefined,
    env: { ...process.env, ...lab.env },
    cwd: lab.dir,
    isTTY: false,
    confirm: async () => false,
    createPorts: (inv, reporter) => lab.createPorts(inv, reporter),
  };
  return main(['node', 'proxflare', '-i', lab.inventoryFile, '--no-color', ...args], io);
}

/** Load + validate + desired + plan of a 1,000-service inventory, no I/O but the file read. */
async function pureScenario(): Promise<Row> {
  const lab = await startSimulatedHomelab({ guests: 1000 });
  try {
    const t0 = performance.now();
    const inventory = await loadInventory(lab.inventoryFile, { env: { ...process.env, ...lab.env } });
    const guestIps = new Map<string, GuestIp>(inventory.guests.map((g, i) => [g.name, { ok: true, ip: generatedGuestIp(i), source: 'interfaces' }]));
    const actual: ActualState = {
      proxmox: { connector: undefined, foreignConnectors: [], templatePresent: true, guestIps, nodeAddresses: ['127.0.9.1'] },
      tunnel: undefined,
      zones: [{ zoneId: 'z', zoneName: 'example.com', records: [] }],
      host: undefined,
    };
    const desired = computeDesired(inventory, actual, createRenderer());
    computePlan(inventory, actual, desired, { adopt: ADOPT_NOTHING, allowMassDelete: false });
    return {
      scenario: 'load + validate + plan, no I/O',
      services: 1000,
      wallMs: performance.now() - t0,
      proxmoxRequests: 0,
      cloudflareRequests: 0,
      sshRoundTrips: 0,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await lab.close();
  }
}

async function child(arg: string): Promise<void> {
  const rows = arg === 'pure' ? [await pureScenario()] : await runScenario(Number(arg));
  process.stdout.write(`${JSON.stringify(rows)}\n`);
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const rows: Row[] = [];
  for (const arg of ['pure', ...SIZES.map(String)]) {
    process.stderr.write(`bench: ${arg === 'pure' ? 'pure plan of 1000 services' : `${arg} services`}…\n`);
    const out = execFileSync(process.execPath, [self, '--child', arg], { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    rows.push(...(JSON.parse(out.trim().split('\n').pop()!) as Row[]));
  }
  const header = ['scenario', 'services', 'wall time', 'Proxmox req', 'Cloudflare req', 'SSH round trips', 'peak RSS'];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.services),
    `${(r.wallMs / 1000).toFixed(2)} s`,
    String(r.proxmoxRequests),
    String(r.cloudflareRequests),
    String(r.sshRoundTrips),
    `${r.peakRssMiB.toFixed(0)} MiB`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(`proxflare bench: simulators with ${LATENCY_MS} ms latency per request, ${UNRELATED_RECORDS} unrelated DNS records in the zone`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

if (process.argv[2] === '--child') await child(process.argv[3]!);
else parent();
