import { join } from 'node:path';
import type { CliContext } from '../cli/context.js';
import { globalOptions } from '../cli/context.js';
import type { CliIo } from '../cli/io.js';
import { UserError } from '../core/errors.js';
import type { SimulatedHomelab } from './simulated-homelab.js';
import { startSimulatedHomelab } from './simulated-homelab.js';

/**
 * `proxflare demo --import`: a homelab that already has a tunnel (a community-scripts LXC with a
 * token-installed cloudflared, routes made in the dashboard) brought under an inventory:
 * import → sync --dry-run (same routes; what would be adopted) → sync --adopt → "No changes".
 */
export async function runImportDemo(ctx: CliContext, flags: { keep: boolean }): Promise<void> {
  const { io } = ctx;
  const color = globalOptions(ctx).color;
  const say = (text: string) => io.stdout(`${color ? `\u001b[1;36m${text}\u001b[0m` : text}\n`);
  say('== proxflare demo --import: an existing tunnel, brought under an inventory, entirely on loopback ==');
  // Its own loopback net (127.0.30.x): the import demo's test runs beside the plain demo's, whose origins hold 127.0.10.x.
  const lab = await startSimulatedHomelab({ preExisting: true, serveOrigins: true, originNet: 30, taskDurationMs: 300 });
  try {
    io.stdout(
      [
        'The simulated homelab already runs a community-scripts cloudflared LXC (CT 110, tags network;cloudflare)',
        'with `cloudflared service install <TOKEN>` for the remotely-managed tunnel "homelab", whose routes',
        'were made in the dashboard. proxflare has never touched it.',
        `connection settings          ${lab.inventoryFile}`,
        '',
      ].join('\n'),
    );
    const imported = join(lab.dir, 'imported.yaml');
    const run = async (title: string, args: string[], expectCodes: number[] = [0]) => {
      say(`\n$ proxflare ${args.join(' ')}    # ${title}`);
      const code = await ctx.runCli(
        ['node', 'proxflare', '-i', lab.inventoryFile, ...(color ? [] : ['--no-color']), ...args],
        demoIo(io, lab),
      );
      if (!expectCodes.includes(code)) throw new UserError(`demo step "proxflare ${args.join(' ')}" exited with ${code}`);
    };
    await run('read what exists, write an inventory', ['import', '--tunnel', 'homelab', '--connector', lab.host.host, '-o', imported]);
    await run(
      'the plan: the same routes; the untagged LXC and the remotely-managed tunnel are conflicts until adopted',
      ['-i', imported, 'sync', '--dry-run'],
      [1],
    );
    await run('what --adopt would take over', ['-i', imported, 'sync', '--dry-run', '--adopt']);
    await run('take it over (config validated before the restart; same tunnel id)', ['-i', imported, 'sync', '--yes', '--adopt']);
    await run('nothing left to do', ['-i', imported, 'sync', '--dry-run', '--detailed-exitcode']);
    say('\nImport demo complete. Everything it started is being stopped.');
    if (flags.keep) io.stdout(`Kept ${lab.dir} (inventories, sandbox connector) for inspection.\n`);
  } finally {
    if (!flags.keep) await lab.close();
  }
}

function demoIo(io: CliIo, lab: SimulatedHomelab): CliIo {
  return { ...io, env: { ...io.env, ...lab.env }, cwd: lab.dir, createPorts: (inv, reporter) => lab.createPorts(inv, reporter) };
}
