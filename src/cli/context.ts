import type { Command } from 'commander';
import type { CliIo, Redactor } from './io.js';

/** Shared state of one CLI run, handed to every command. */
export interface CliContext {
  io: CliIo;
  redactor: Redactor;
  program: Command;
  /**
   * Runs the CLI again with other arguments and I/O (the demo drives whole `proxflare`
   * runs). Passed in rather than imported so no command module depends on `cli/main.ts`.
   */
  runCli: (argv: string[], io: CliIo) => Promise<number>;
}

export interface GlobalOptions {
  inventory: string;
  color: boolean;
  verbose: boolean;
}

export function globalOptions(ctx: CliContext): GlobalOptions {
  const o = ctx.program.opts<{ inventory: string; color: boolean; verbose: boolean }>();
  const color = o.color && !('NO_COLOR' in ctx.io.env) && ctx.io.isTTY;
  return { inventory: o.inventory, color, verbose: o.verbose || /\bproxflare\b/.test(ctx.io.env.DEBUG ?? '') };
}
