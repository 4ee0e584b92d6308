import { findLocalProblems, formatLocalProblem } from '../../sync/local-prerequisites.js';
import type { CliContext } from '../context.js';
import { loadForCli } from '../load-for-cli.js';

export async function runValidate(ctx: CliContext): Promise<void> {
  const inventory = await loadForCli(ctx);
  for (const w of inventory.warnings) ctx.io.stderr(`warning: ${w}\n`);
  // The key files and known_hosts are warnings here: validate also runs where the keys are not (CI).
  // `sync`, dry-run included, refuses them before reading anything.
  const problems = await findLocalProblems(inventory, { creatingConnector: true, parseKeys: false });
  for (const p of problems) ctx.io.stderr(`warning: ${formatLocalProblem(inventory, p)}\n`);
  const services = [...inventory.guests, ...inventory.hosts].reduce((n, g) => n + g.services.length, 0);
  const hosts = inventory.hosts.length > 0 ? `${inventory.hosts.length} host${inventory.hosts.length === 1 ? '' : 's'}, ` : '';
  ctx.io.stdout(
    `${inventory.file} is valid: ${inventory.guests.length} guest${inventory.guests.length === 1 ? '' : 's'}, ${hosts}` +
      `${services} service${services === 1 ? '' : 's'}, zone${inventory.cloudflare.zones.length === 1 ? '' : 's'} ${inventory.cloudflare.zones.join(', ')}.\n`,
  );
}
