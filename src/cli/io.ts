import type { Ports } from '../sync/ports.js';
import type { Inventory } from '../inventory/types.js';
import type { Reporter } from '../core/reporter.js';

/** Everything the CLI touches of its process, injectable so tests run it in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** stdout is a terminal (colour, spinner, confirmation prompt). */
  isTTY: boolean;
  /** Ask a yes/no question on the terminal. */
  confirm: (question: string) => Promise<boolean>;
  /** Ask for a line of text on the terminal (destroy: the tunnel name). */
  prompt?: (question: string) => Promise<string>;
  /** Builds the adapters for an inventory; tests pass fakes or simulator-backed adapters. */
  createPorts: (inventory: Inventory, reporter: Reporter) => Ports | Promise<Ports>;
}

/** Replaces every known secret value in text; a last line of defence behind `Secret`. */
export class Redactor {
  readonly #values = new Set<string>();
  add(value: string | undefined): void {
    if (value && value.length >= 6) this.#values.add(value);
  }
  apply(text: string): string {
    let out = text;
    for (const v of this.#values) out = out.split(v).join('(sensitive)');
    return out;
  }
}
