import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/io.js';
import type { SimulatedHomelab } from '../../src/demo/simulated-homelab.js';
import type { Ports } from '../../src/sync/ports.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against a simulated homelab (real adapters, real sockets). */
export async function runCli(lab: SimulatedHomelab, args: string[], wrapPorts?: (p: Ports) => Ports): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { ...lab.env },
    cwd: lab.dir,
    isTTY: false,
    confirm: async () => false,
    createPorts: (inv, reporter) => {
      const ports = lab.createPorts(inv, reporter);
      return wrapPorts ? wrapPorts(ports) : ports;
    },
  };
  const code = await main(['node', 'proxflare', '-i', lab.inventoryFile, '--no-color', ...args], io);
  return { code, stdout, stderr };
}
