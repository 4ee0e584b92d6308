import type { CredentialsChange, FileChange } from '../../plan/types.js';
import type { ExecutorContext } from '../executor-context.js';

/** destroy: proxflare's files on a connector, removed in one command per connector (daemon-reload when the unit file goes). */
export async function removeHostFiles(changes: readonly (FileChange | CredentialsChange)[], ctx: ExecutorContext): Promise<void> {
  const byConnector = new Map<string, (FileChange | CredentialsChange)[]>();
  for (const c of changes) byConnector.set(c.connector, [...(byConnector.get(c.connector) ?? []), c]);
  for (const [connector, list] of byConnector) {
    const paths = list.map((c) => c.path);
    const host = await ctx.connector(connector);
    ctx.reporter.step(list[0]!.address, `removing ${paths.join(', ')}`);
    await host.removeFiles(paths, { reloadUnits: paths.some((p) => p.startsWith('/etc/systemd/system/')) });
    for (const c of list) ctx.completed(c);
    ctx.reporter.done(list[0]!.address, `${paths.length} file${paths.length === 1 ? '' : 's'} removed`);
  }
}
