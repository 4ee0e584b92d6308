import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, Option } from 'commander';
import { ApplyError, ExitError, InventoryError, ProviderError, UserError } from '../core/errors.js';
import type { CliContext } from './context.js';
import type { CliIo } from './io.js';
import { Redactor } from './io.js';
import { registerInit } from './commands/init.js';
import { registerValidate } from './commands/validate.js';
import { registerSync } from './commands/sync.js';
import { registerStatus } from './commands/status.js';
import { registerDemo } from './commands/demo.js';
import { registerSchema } from './commands/schema.js';
import { registerGraph } from './commands/graph.js';
import { registerDestroy } from './commands/destroy.js';
import { registerImport } from './commands/import.js';
import { registerDoctor } from './commands/doctor.js';

/*
 * Start-up cost is paid by every invocation, so this module and `commands/*` load only
 * commander and the error types. Each command's action imports its implementation
 * (`actions/*`) when it runs: `--version` never loads zod, `validate` never loads the
 * Cloudflare SDK, ssh2 or undici, and only `demo` loads the simulators.
 */
const COMMANDS = [
  registerInit,
  registerValidate,
  registerSync,
  registerStatus,
  registerDemo,
  registerSchema,
  registerGraph,
  registerDestroy,
  registerImport,
  registerDoctor,
];

export function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY),
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        const answer = await rl.question(`${question} Only "yes" is accepted: `);
        return answer.trim() === 'yes';
      } finally {
        rl.close();
      }
    },
    prompt: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(`${question} `);
      } finally {
        rl.close();
      }
    },
    createPorts: async (inventory, reporter) => (await import('../sync/create-ports.js')).createRealPorts(inventory, reporter),
  };
}

/** Runs the CLI and returns the exit code; errors are mapped to output and codes here only. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const redactor = new Redactor();
  const safeIo: CliIo = {
    ...io,
    stdout: (t) => io.stdout(redactor.apply(t)),
    stderr: (t) => io.stderr(redactor.apply(t)),
  };
  const program = new Command('proxflare')
    .description("Provision a Proxmox homelab's public entry point through a Cloudflare Tunnel")
    .version('0.1.0')
    .option('-i, --inventory <file>', 'inventory file', 'inventory.yaml')
    .option('--no-color', 'disable colours (also NO_COLOR)')
    .addOption(new Option('-v, --verbose', 'log each API call and remote command').default(false))
    .exitOverride()
    .configureOutput({ writeOut: safeIo.stdout, writeErr: safeIo.stderr });
  const ctx: CliContext = { io: safeIo, redactor, program, runCli: main };
  for (const register of COMMANDS) register(ctx);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    return reportError(err, safeIo);
  }
}

function reportError(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander already printed help/version/usage errors.
    return err.exitCode === 0 ? 0 : 1;
  }
  if (err instanceof ExitError) return err.code;
  if (err instanceof InventoryError || err instanceof UserError) {
    io.stderr(`Error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ProviderError) {
    io.stderr(`Error: ${err.message}\n`);
    return 1;
  }
  if (err instanceof ApplyError) {
    const lines = ['Error: apply stopped at the first failure.', ''];
    for (const a of err.applied) lines.push(`  ✓ applied  ${a.address} (${a.action})`);
    lines.push(`  ✗ failed   ${err.failed.address} (${err.failed.action}): ${err.failed.error}`);
    for (const p of err.pending) lines.push(`  · pending  ${p.address} (${p.action})`);
    lines.push(
      '',
      `Nothing was rolled back that was already applied; re-run \`proxflare ${err.command}\` to finish the job once the cause is fixed.`,
    );
    io.stderr(`${lines.join('\n')}\n`);
    return 1;
  }
  const stack = err instanceof Error ? (err.stack ?? err.message) : String(err);
  io.stderr(`Internal error (this is a bug in proxflare; please report it):\n${stack}\n`);
  return 1;
}
