/**
 * One `proxflare sync --dry-run` in a process of its own, against a simulated homelab that
 * runs in the benchmark's other process: its peak RSS is proxflare's alone, without the
 * simulators. The adapters are imported when the CLI asks for its ports, as `bin/proxflare.js`
 * does, so the run pays the same module loading a user's does. Prints one JSON line: exit code,
 * wall time of the run, peak RSS, CPU time, the V8 heap at the end, SSH round trips.
 */
import { performance } from 'node:perf_hooks';
import { main } from '../cli/main.js';
import type { CliIo } from '../cli/io.js';
import type { ConnectorHost } from '../ports/connector.js';
import type { SandboxTarget } from '../demo/sandbox-ports.js';

export interface BenchPlanInput {
  inventoryFile: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  sandbox: SandboxTarget;
}

export interface BenchPlanOutput {
  code: number;
  wallMs: number;
  peakRssMiB: number;
  /** CPU time (user + system) of this process: what the run costs besides waiting. */
  cpuMs: number;
  /** V8 heap in use at the end (MiB): what of the RSS is JavaScript objects. */
  heapUsedMiB: number;
  sshRoundTrips: number;
}

const input = JSON.parse(process.argv[2]!) as BenchPlanInput;
const connections: ConnectorHost[] = [];
const io: CliIo = {
  stdout: () => undefined,
  stderr: () => undefined,
  env: { ...process.env, ...input.env },
  cwd: input.cwd,
  isTTY: false,
  confirm: async () => false,
  createPorts: async (inventory, reporter) =>
    (await import('../demo/sandbox-ports.js')).sandboxPorts(inventory, reporter, input.sandbox, (c) => connections.push(c)),
};
const t0 = performance.now();
const code = await main(['node', 'proxflare', '-i', input.inventoryFile, '--no-color', 'sync', '--dry-run', '--detailed-exitcode'], io);
const output: BenchPlanOutput = {
  code,
  wallMs: performance.now() - t0,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  heapUsedMiB: process.memoryUsage().heapUsed / 1024 / 1024,
  sshRoundTrips: connections.reduce((n, c) => n + c.roundTrips, 0),
};
process.stdout.write(`${JSON.stringify(output)}\n`);
// Leave even if a library kept a handle open (as bin/proxflare.js does).
process.exit(0);
