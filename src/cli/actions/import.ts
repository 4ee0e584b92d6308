import { writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { readExisting } from '../../import/read-existing.js';
import { writeImportedInventory } from '../../import/write-inventory.js';
import type { ImportFlags } from '../commands/import.js';
import type { CliContext } from '../context.js';
import { globalOptions } from '../context.js';
import { loadForCli } from '../load-for-cli.js';
import { createCliReporter } from '../reporter.js';

/**
 * `proxflare import`: readers only. The connection settings (Proxmox, Cloudflare, SSH key) come
 * from the inventory given with -i (as `proxflare init` writes it); the rest is read.
 */
export async function runImport(ctx: CliContext, flags: ImportFlags): Promise<void> {
  // Checked before anything is read.
  const repeated = flags.connector?.find((a, i) => flags.connector!.indexOf(a) !== i);
  if (repeated) throw new UserError(`--connector ${repeated} is given twice; name each connector host once`);
  const base = await loadForCli(ctx);
  const { io } = ctx;
  const g = globalOptions(ctx);
  const reporter = createCliReporter({ write: io.stderr, tty: io.isTTY, color: g.color, verbose: g.verbose });
  const ports = await io.createPorts(base, reporter);
  try {
    reporter.step('import', `reading tunnel ${flags.tunnel}, its DNS records and the Proxmox guests`);
    const setup = await readExisting(base, ports, flags.tunnel, flags.connector ?? [], reporter);
    reporter.done('import');
    const { yaml, notes } = writeImportedInventory(base, setup);
    for (const n of notes) reporter.warn(n);
    if (!flags.output) {
      io.stdout(yaml);
      return;
    }
    const target = isAbsolute(flags.output) ? flags.output : resolve(io.cwd, flags.output);
    try {
      await writeFile(target, yaml, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        throw new UserError(`${target} exists; import never overwrites a file. Choose another -o, or remove it first.`);
      throw err;
    }
    reporter.stop();
    io.stdout(
      `Wrote ${target}: tunnel ${setup.tunnel.name} (${setup.ingress.filter((r) => r.hostname).length} routes from ${setup.ingressSource}), ${setup.records.length} DNS records to adopt.\n` +
        `Next: proxflare -i ${flags.output} sync --dry-run   (lists what will be adopted; nothing changes until sync --adopt)\n`,
    );
  } finally {
    reporter.stop();
    await ports.close();
  }
}
