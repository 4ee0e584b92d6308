/**
 * `npm run bench`. Two tables:
 *
 * Start-up: whole `node bin/proxflare.js ...` processes (median of 10, peak RSS), the time a
 * user waits for `--version`, `--help` and `validate`, against the issue's targets.
 *
 * Sync: full applies and no-op plans for 10, 100 and 1,000 services against the simulators
 * (25 ms injected latency per API request, 4,000 unrelated DNS records) and the sandbox SSH
 * connector, with their request counts and the lower bound those requests imply:
 *   bound  = fixed + I/O
 *   fixed  = median wall time of `proxflare validate` of the same inventory, a whole process:
 *            Node's start-up, loading the CLI, reading and checking the inventory; a plan
 *            must do all of it before its first request (measured, not assumed)
 *   I/O    = max(API, SSH) for a read, where
 *            API = latency × max(1 + ⌈(Proxmox GETs − 2) / concurrency⌉,  1 + DNS list pages)
 *            (one listing round, then every other Proxmox read under the concurrency limit;
 *            on Cloudflare the zone lookup, then the DNS pages one after another; both APIs
 *            are read in parallel)
 *            SSH = latency × 4 (the Proxmox rounds that find the connector) + the connect and
 *            state read as long as they took on the sandbox (its stand-ins are real processes)
 *   apply  = the first read's API I/O (no connector yet) + latency × each write (applied one
 *            after another) + each Proxmox task's simulated duration + each SSH step as long as
 *            it took + the convergence re-read (a read, as above)
 * What the bound leaves out is what proxflare could still overlap or cut: loading the adapters
 * (the Cloudflare SDK loads while Proxmox is read), CPU per request, computing and rendering
 * the plan. A row slower than 1.5 × its bound is flagged. Every sync row runs proxflare in a
 * process of its own (src/bench/bench-plan.ts), timed from spawn to exit (what a user waits),
 * so its peak RSS and CPU time are proxflare's and the simulators, in the benchmark's process,
 * never take turns with it on one thread; the time from main() to its result is shown too.
 * Everything listens on 127.0.0.1.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generatedGuestIp, startSimulatedHomelab } from '../demo/simulated-homelab.js';
import type { SimulatedHomelab } from '../demo/simulated-homelab.js';
import { loadInventory } from '../inventory/load.js';
import { computePlan } from '../plan/compute-plan.js';
import { createRenderer } from '../render/templates.js';
import { computeDesired } from '../plan/desired-state.js';
import type { ActualState } from '../plan/actual-state.js';
import type { GuestIp } from '../ports/proxmox.js';
import { ADOPT_NOTHING } from '../plan/ownership.js';
import type { BenchPlanInput, BenchPlanOutput, SshOperation } from './bench-plan.js';

const SIZES = [10, 100, 1000];
const LATENCY_MS = 25;
const UNRELATED_RECORDS = 4000;
const TASK_MS = 200;
/** The inventory default of `proxmox.concurrency`. */
const CONCURRENCY = 8;
const STARTUP_RUNS = 10;
/** Runs of `validate` that measure a sync row's fixed cost. */
const FIXED_RUNS = 5;
const FLAG_RATIO = 1.5;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/proxflare.js`;
const SELF = fileURLToPath(import.meta.url);
const PLAN_RUNNER = fileURLToPath(new URL('./bench-plan.js', import.meta.url));

interface SyncRow {
  scenario: string;
  services: number;
  wallMs: number;
  /** No-op plans: the time from main() to its result, without Node's start-up and exit. */
  inRunMs?: number;
  proxmoxRequests: number;
  cloudflareRequests: number;
  sshRoundTrips: number;
  peakRssMiB: number;
  /** CPU time of the proxflare process (no-op plans, which run alone). */
  cpuMs?: number;
  /** Measured fixed cost (see the header): validate of the same inventory, whole process. */
  fixedMs?: number;
  /** The I/O the requests imply. */
  ioMs?: number;
  boundMs: number | undefined;
  /** No-op plans: V8 heap in use at the end. */
  heapUsedMiB?: number;
  target?: { wallMs?: number; rssMiB?: number };
}

interface StartupRow {
  command: string;
  medianMs: number;
  peakRssMiB: number;
  targetMs: number | undefined;
}

// ---------------------------------------------------------------- start-up (whole processes)

/** Writes the process's peak RSS (KiB) to fd 3 when it exits. */
const RSS_PRELOAD = `data:text/javascript,${encodeURIComponent(
  "import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(3, String(process.resourceUsage().maxRSS)));",
)}`;

function timeProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = ['--import', RSS_PRELOAD, BIN],
  runs = STARTUP_RUNS,
): StartupRow {
  const walls: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...nodeArgs, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
    walls.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    rss.push(Number((r.output[3] as string | null) ?? 0) / 1024);
  }
  return { command: args.join(' '), medianMs: median(walls), peakRssMiB: Math.max(...rss), targetMs: undefined };
}

async function startupRows(): Promise<StartupRow[]> {
  const lab = await startSimulatedHomelab({ guests: 1000 });
  try {
    const env = { PATH: process.env.PATH, HOME: lab.dir };
    const rows: StartupRow[] = [];
    const baseline = timeProcess(['-e', '0'], env, ['--import', RSS_PRELOAD]);
    rows.push({ ...baseline, command: 'node -e 0 (Node itself, for reference)' });
    rows.push({ ...timeProcess(['--version'], env), targetMs: 150 });
    rows.push({ ...timeProcess(['--help'], env), targetMs: 150 });
    rows.push({
      ...timeProcess(['validate', '-i', 'inventory.yaml'], env),
      command: 'validate (the example inventory.yaml)',
      targetMs: 250,
    });
    rows.push({
      ...timeProcess(['validate', '-i', lab.inventoryFile], { ...env, ...lab.env }),
      command: 'validate (1,000 services)',
      targetMs: 500,
    });
    return rows;
  } finally {
    await lab.close();
  }
}

// ---------------------------------------------------------------- sync (simulators)

const isDnsListing = (method: string, path: string) => method === 'GET' && /\/dns_records(\?|$)/.test(path);
const isPveTask = (method: string, path: string) =>
  method === 'POST' && /\/lxc$|\/status\/(start|stop|shutdown|reboot)$|\/aplinfo$|\/download-url$/.test(path);

interface Window {
  pve: { method: string; path: string }[];
  cf: { method: string; path: string }[];
}

/** Proxmox rounds before the connector's SSH read can start: the listing, its config, status and interfaces. */
const CONNECTOR_ROUNDS = 4;

/** The API reads: one listing round, every other Proxmox read under the limit; the DNS pages one after another. */
function apiReadMs(w: Window): number {
  const pveReads = w.pve.filter((r) => r.method === 'GET').length;
  const pveRounds = pveReads === 0 ? 0 : 1 + Math.ceil(Math.max(0, pveReads - 2) / CONCURRENCY);
  const cfRounds = 1 + w.cf.filter((r) => isDnsListing(r.method, r.path)).length;
  return LATENCY_MS * Math.max(pveRounds, cfRounds);
}

/** A read: the APIs, and beside them the connector, found by Proxmox, then read over SSH (connect + state). */
function readBoundMs(apiMs: number, sshRead: SshOperation[]): number {
  const ssh = sshRead.reduce((n, o) => n + o.ms, 0);
  return Math.max(apiMs, sshRead.length > 0 ? LATENCY_MS * CONNECTOR_ROUNDS + ssh : 0);
}

/** The SSH operations of the last read: its readState, and the connect just before it if it made one. */
function lastRead(ssh: SshOperation[]): { read: SshOperation[]; before: SshOperation[] } {
  const i = ssh.map((o) => o.op).lastIndexOf('readState');
  if (i < 0) return { read: [], before: ssh };
  const from = i > 0 && ssh[i - 1]!.op === 'connect' ? i - 1 : i;
  return { read: ssh.slice(from, i + 1), before: [...ssh.slice(0, from), ...ssh.slice(i + 1)] };
}

/**
 * A full apply: the first read (no connector yet: the no-op plan's API reads), then each write
 * and Proxmox task one after another, each SSH step as long as it took on the sandbox, then the
 * convergence re-read.
 */
function applyBoundMs(w: Window, firstReadMs: number, ssh: SshOperation[]): number {
  const writes = [...w.pve, ...w.cf].filter((r) => r.method !== 'GET').length;
  const tasks = w.pve.filter((r) => isPveTask(r.method, r.path)).length;
  const { read, before } = lastRead(ssh);
  const steps = before.reduce((n, o) => n + o.ms, 0);
  return firstReadMs + LATENCY_MS * writes + TASK_MS * tasks + steps + readBoundMs(firstReadMs, read);
}

async function runScenario(services: number, staticIps: boolean): Promise<SyncRow[]> {
  const lab = await startSimulatedHomelab({
    guests: services,
    latencyMs: LATENCY_MS,
    unrelatedRecords: UNRELATED_RECORDS,
    taskDurationMs: TASK_MS,
  });
  try {
    if (staticIps) await writeFile(lab.inventoryFile, withInventoryIps(await readFile(lab.inventoryFile, 'utf8')));
    // Nothing else runs while it is measured (spawnSync): validate needs no simulator.
    const fixedMs = timeProcess(
      ['validate', '-i', lab.inventoryFile],
      { PATH: process.env.PATH, HOME: lab.dir, ...lab.env },
      undefined,
      FIXED_RUNS,
    ).medianMs;
    const label = staticIps ? ', inventory IPs (no discovery)' : '';
    const window = async <T>(run: () => Promise<T>) => {
      const pve0 = lab.proxmox.requests.length;
      const cf0 = lab.cloudflare.requests.length;
      const result = await run();
      const w: Window = {
        pve: lab.proxmox.requests.slice(pve0).map((r) => ({ method: r.method, path: r.path })),
        cf: lab.cloudflare.requests.slice(cf0).map((r) => ({ method: r.method, path: r.path })),
      };
      return { result, w };
    };

    const apply = await window(() => runInOwnProcess(lab, ['sync', '--yes']));
    if (apply.result.code !== 0) throw new Error(`full apply with ${services} services exited ${apply.result.code}`);
    const noop = await window(() => runInOwnProcess(lab, ['sync', '--dry-run', '--detailed-exitcode']));
    if (noop.result.code !== 0) throw new Error(`no-op plan with ${services} services exited ${noop.result.code}`);

    const noopApi = apiReadMs(noop.w);
    const noopIo = readBoundMs(noopApi, noop.result.ssh);
    const row = (
      scenario: string,
      w: Window,
      r: { wallMs: number; inRunMs?: number; sshRoundTrips: number; peakRssMiB: number; cpuMs?: number; heapUsedMiB?: number },
      ioMs: number,
    ): SyncRow => ({
      scenario,
      services,
      wallMs: r.wallMs,
      ...(r.inRunMs !== undefined ? { inRunMs: r.inRunMs } : {}),
      proxmoxRequests: w.pve.length,
      cloudflareRequests: w.cf.length,
      sshRoundTrips: r.sshRoundTrips,
      peakRssMiB: r.peakRssMiB,
      ...(r.cpuMs !== undefined ? { cpuMs: r.cpuMs } : {}),
      ...(r.heapUsedMiB !== undefined ? { heapUsedMiB: r.heapUsedMiB } : {}),
      fixedMs,
      ioMs,
      boundMs: fixedMs + ioMs,
    });
    const own = (r: BenchPlanOutput & { processMs: number }) => ({ ...r, wallMs: r.processMs, inRunMs: r.wallMs });
    const noopRow = row(`no-op plan (sync --dry-run)${label}`, noop.w, own(noop.result), noopIo);
    if (services === 1000) noopRow.target = { rssMiB: 200, ...(staticIps ? {} : { wallMs: 3600 }) };
    return [
      row(
        `full apply (sync --yes, incl. convergence re-read)${label}`,
        apply.w,
        own(apply.result),
        applyBoundMs(apply.w, noopApi, apply.result.ssh),
      ),
      noopRow,
    ];
  } finally {
    await lab.close();
  }
}

/** Every generated guest gets its address in the inventory, so nothing is discovered. */
function withInventoryIps(yaml: string): string {
  return yaml.replace(/^ {2}- name: svc(\d+)\n {4}type: lxc\n/gm, (block, i: string) => `${block}    ip: ${generatedGuestIp(Number(i))}\n`);
}

/** The run's output, with `processMs`: the child's whole life, spawn to exit. */
async function runInOwnProcess(lab: SimulatedHomelab, args: string[]): Promise<BenchPlanOutput & { processMs: number }> {
  const input: BenchPlanInput = {
    inventoryFile: lab.inventoryFile,
    cwd: lab.dir,
    env: lab.env,
    sandbox: { root: lab.host.root, binDir: lab.host.binDir, metrics: lab.host.metrics },
    args,
  };
  const t0 = performance.now();
  // Asynchronous: the simulators in this process must keep answering while the child runs.
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [PLAN_RUNNER, JSON.stringify(input)], { maxBuffer: 16 << 20 });
  const processMs = performance.now() - t0;
  process.stderr.write(stderr); // a failed run's output (bench-plan.ts)
  return { ...(JSON.parse(stdout.trim().split('\n').pop()!) as BenchPlanOutput), processMs };
}

/** Load + validate + desired + plan of a 1,000-service inventory, no I/O but the file read. */
async function pureScenario(): Promise<SyncRow> {
  const lab = await startSimulatedHomelab({ guests: 1000 });
  try {
    const t0 = performance.now();
    const inventory = await loadInventory(lab.inventoryFile, { env: { ...process.env, ...lab.env } });
    const guestIps = new Map<string, GuestIp>(
      inventory.guests.map((g, i) => [g.name, { ok: true, ip: generatedGuestIp(i), source: 'interfaces' }]),
    );
    const actual: ActualState = {
      proxmox: { connector: undefined, foreignConnectors: [], templatePresent: true, guestIps, nodeAddresses: ['127.0.9.1'] },
      tunnel: undefined,
      zones: [{ zoneId: 'z', zoneName: 'example.com', records: [] }],
      host: undefined,
    };
    const desired = computeDesired(inventory, actual, createRenderer());
    computePlan(inventory, actual, desired, { adopt: ADOPT_NOTHING, allowMassDelete: false });
    return {
      scenario: 'load + validate + plan, no I/O (in-process)',
      services: 1000,
      wallMs: performance.now() - t0,
      proxmoxRequests: 0,
      cloudflareRequests: 0,
      sshRoundTrips: 0,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      boundMs: undefined,
    };
  } finally {
    await lab.close();
  }
}

// ---------------------------------------------------------------- driver and tables

async function child(arg: string): Promise<void> {
  let rows: unknown;
  if (arg === 'startup') rows = await startupRows();
  else if (arg === 'pure') rows = [await pureScenario()];
  else if (arg.startsWith('static-')) rows = await runScenario(Number(arg.slice('static-'.length)), true);
  else rows = await runScenario(Number(arg), false);
  process.stdout.write(`${JSON.stringify(rows)}\n`);
  process.exit(0);
}

function runChild<T>(arg: string, what: string): T[] {
  process.stderr.write(`bench: ${what}…\n`);
  const r = spawnSync(process.execPath, [SELF, '--child', arg], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`bench child ${arg} exited ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T[];
}

function parent(): void {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  const loadBefore = load();
  const startup = runChild<StartupRow>('startup', `start-up, ${STARTUP_RUNS} runs each`);
  const rows: SyncRow[] = [];
  rows.push(...runChild<SyncRow>('pure', 'pure plan of 1000 services'));
  for (const n of SIZES) rows.push(...runChild<SyncRow>(String(n), `${n} services`));
  rows.push(...runChild<SyncRow>('static-1000', '1000 services with inventory IPs'));

  const flags: string[] = [];
  console.log(`proxflare bench (load average before: ${loadBefore}; after: ${load()}; ${process.arch}, Node ${process.version})`);
  console.log('');
  console.log(`Start-up: whole processes, median of ${STARTUP_RUNS}`);
  // On a loaded machine every process is slower; the multiple of Node's own start-up says
  // what proxflare adds, independently of the load.
  const node = startup[0]!.medianMs;
  table(
    ['command', 'median', '× node -e 0', 'peak RSS', 'target', ''],
    startup.map((r) => {
      const over = r.targetMs !== undefined && r.medianMs > r.targetMs;
      if (over) flags.push(`${r.command}: ${seconds(r.medianMs)} is above its target ${seconds(r.targetMs!)}`);
      return [
        r.command,
        seconds(r.medianMs),
        `${(r.medianMs / node).toFixed(1)}×`,
        mib(r.peakRssMiB),
        r.targetMs === undefined ? '' : `≤ ${seconds(r.targetMs)}`,
        over ? 'ABOVE TARGET' : '',
      ];
    }),
  );
  console.log('');
  console.log(
    `Sync: simulators with ${LATENCY_MS} ms latency per request, ${UNRELATED_RECORDS} unrelated DNS records, ` +
      `proxmox.concurrency ${CONCURRENCY}, ${TASK_MS} ms per Proxmox task`,
  );
  table(
    [
      'scenario',
      'services',
      'wall time',
      'from main()',
      'fixed',
      'I/O',
      'bound',
      'measured/bound',
      'CPU',
      'Proxmox req',
      'Cloudflare req',
      'SSH round trips',
      'peak RSS',
      'heap',
      '',
    ],
    rows.map((r) => {
      const ratio = r.boundMs ? r.wallMs / r.boundMs : undefined;
      const notes: string[] = [];
      if (ratio !== undefined && ratio > FLAG_RATIO) notes.push(`ABOVE ${FLAG_RATIO}× BOUND`);
      if (r.target?.wallMs !== undefined && r.wallMs > r.target.wallMs) notes.push(`above target ${seconds(r.target.wallMs)}`);
      if (r.target?.rssMiB !== undefined && r.peakRssMiB > r.target.rssMiB) notes.push(`RSS above ${r.target.rssMiB} MiB`);
      if (notes.length > 0) flags.push(`${r.scenario}, ${r.services} services: ${notes.join(', ')}`);
      const optional = (ms: number | undefined) => (ms === undefined ? '' : seconds(ms));
      return [
        r.scenario,
        String(r.services),
        seconds(r.wallMs),
        optional(r.inRunMs),
        optional(r.fixedMs),
        optional(r.ioMs),
        optional(r.boundMs),
        ratio === undefined ? '' : `${ratio.toFixed(2)}×`,
        optional(r.cpuMs),
        String(r.proxmoxRequests),
        String(r.cloudflareRequests),
        String(r.sshRoundTrips),
        mib(r.peakRssMiB),
        r.heapUsedMiB === undefined ? '' : mib(r.heapUsedMiB),
        notes.join(', '),
      ];
    }),
  );
  console.log('');
  console.log(
    'bound = fixed + I/O.  fixed: median wall time of `proxflare validate` of the same inventory (Node start-up, loading the CLI,',
  );
  console.log('reading and checking the inventory: what precedes the first request).  I/O of a read: max(API, SSH), API = latency ×');
  console.log(
    'max(1 + ⌈(Proxmox GETs − 2) / concurrency⌉, 1 + DNS list pages), SSH = latency × 4 + the connect and state read as they took.',
  );
  console.log('A full apply: the first read, latency × each write, each Proxmox task, each SSH step as it took, the convergence re-read.');
  console.log(
    'Every row runs proxflare in a process of its own: wall time is spawn to exit, "from main()" leaves out Node start-up and exit.',
  );
  console.log('');
  console.log(
    flags.length === 0
      ? 'Every row is within its target and within 1.5× its lower bound.'
      : `Called out:\n${flags.map((f) => `  - ${f}`).join('\n')}`,
  );
}

function table(header: string[], cells: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const c of cells) console.log(line(c));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 1000 ? 3 : 2)} s`;
const mib = (m: number) => `${m.toFixed(0)} MiB`;

if (process.argv[2] === '--child') await child(process.argv[3]!);
else parent();
