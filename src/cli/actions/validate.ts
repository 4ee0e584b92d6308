import { UserError } from '../../core/errors.js';
import { findLocalProblems, formatLocalProblem } from '../../sync/local-prerequisites.js';
import type { CliContext } from '../context.js';
import { loadForCli } from '../load-for-cli.js';

export async function runValidate(ctx: CliContext): Promise<void> {
  const inventory = await loadForCli(ctx);
  for (const w of inventory.warnings) ctx.io.stderr(`warning: ${w}\n`);
  // The key files and known_hosts are local, so validate checks them too (the public key only matters
  // when the connector is created, which validate cannot know without reading Proxmox: a warning).
  const problems = await findLocalProblems(inventory, { creatingConnector: true });
  for (const p of problems.filter((p) => p.field === 'connector.ssh.publicKey')) ctx.io.stderr(`warning: ${formatLocalProblem(inventory, p)}\n`);
  const errors = problems.filter((p) => p.field !== 'connector.ssh.publicKey');
  if (errors.length > 0) {
    throw new UserError(
      `${errors.length} local problem${errors.length === 1 ? '' : 's'}:\n` + errors.map((p) => `  ${formatLocalProblem(inventory, p)}`).join('\n'),
    );
  }
  const services = [...inventory.guests, ...inventory.hosts].reduce((n, g) => n + g.services.length, 0);
  const hosts = inventory.hosts.length > 0 ? `${inventory.hosts.length} host${inventory.hosts.length === 1 ? '' : 's'}, ` : '';
  ctx.io.stdout(
    `${inventory.file} is valid: ${inventory.guests.length} guest${inventory.guests.length === 1 ? '' : 's'}, ${hosts}` +
      `${services} service${services === 1 ? '' : 's'}, zone${inventory.cloudflare.zones.length === 1 ? '' : 's'} ${inventory.cloudflare.zones.join(', ')}.\n`,
  );
}
