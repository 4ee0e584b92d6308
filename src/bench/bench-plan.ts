/**
 * One proxflare run (`sync --dry-run`, or `sync --yes`) in a process of its own, against a
 * simulated homelab that runs in the benchmark's other process: its peak RSS and CPU are
 * proxflare's alone, and the simulators do not take turns with it on one thread. The adapters
 * are imported when the CLI asks for its ports, as `bin/proxflare.js` does, so the run pays the
 * same module loading a user's does. Prints one JSON line: exit code, wall time of the run, peak
 * RSS, CPU time, the V8 heap at the end, SSH round trips, and how long each SSH operation took
 * (the sandbox's stand-ins run real processes: that time is the connector's, not proxflare's).
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
  /** The command after the global options, e.g. ['sync', '--dry-run', '--detailed-exitcode']. */
  args: string[];
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
  /** Each SSH operation (connect, readState, deploy, ...) in the order it ended, with its duration. */
  ssh: SshOperation[];
}

export interface SshOperation {
  op: string;
  ms: number;
}

const input = JSON.parse(process.argv[2]!) as BenchPlanInput;
const connections: ConnectorHost[] = [];
const ssh: SshOperation[] = [];
let output = '';

/** The host, each of its operations timed into `ssh`. */
function timed(host: ConnectorHost): ConnectorHost {
  return new Proxy(host, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      // Its methods use private fields: they run on the host itself, never on the proxy.
      if (prop === 'close') return (value as () => Promise<void>).bind(target);
      return (...args: unknown[]) => {
        const started = performance.now();
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.finally(() => ssh.push({ op: String(prop), ms: performance.now() - started }));
      };
    },
  });
}
const io: CliIo = {
  // The end is what says why a run failed; a full apply's plan of 1,000 services is long.
  stdout: (t) => void (output = (output + t).slice(-4000)),
  stderr: (t) => void (output = (output + t).slice(-4000)),
  env: { ...process.env, ...input.env },
  cwd: input.cwd,
  isTTY: false,
  confirm: async () => false,
  createPorts: async (inventory, reporter) => {
    const ports = (await import('../demo/sandbox-ports.js')).sandboxPorts(inventory, reporter, input.sandbox, (c) => connections.push(c));
    return {
      ...ports,
      connect: async (target) => {
        const started = performance.now();
        const host = await ports.connect(target);
        ssh.push({ op: 'connect', ms: performance.now() - started });
        return timed(host);
      },
    };
  },
};
const t0 = performance.now();
const code = await main(['node', 'proxflare', '-i', input.inventoryFile, '--no-color', ...input.args], io);
const result: BenchPlanOutput = {
  code,
  wallMs: performance.now() - t0,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
  heapUsedMiB: process.memoryUsage().heapUsed / 1024 / 1024,
  sshRoundTrips: connections.reduce((n, c) => n + c.roundTrips, 0),
  ssh,
};
// A failed run says why (its output is otherwise dropped to keep the table readable).
if (code !== 0) process.stderr.write(output);
process.stdout.write(`${JSON.stringify(result)}\n`);
// Leave even if a library kept a handle open (as bin/proxflare.js does).
process.exit(0);
