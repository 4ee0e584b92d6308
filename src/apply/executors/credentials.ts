import { renderCredentialsFile } from '../../cloudflare/tunnel-credentials.js';
import type { CredentialsChange } from '../../plan/types.js';
import type { Executor } from './executor.js';
import { removeHostFiles } from './remove-files.js';

/**
 * The tunnel credentials file: from the tunnel this apply created, or recovered from the
 * existing tunnel's token. Staged, not written: the unit change deploys it with the config.
 */
export const credentialsExecutor: Executor<CredentialsChange> = {
  async apply(changes, ctx) {
    if (changes.every((c) => c.action === 'delete')) return removeHostFiles(changes, ctx);
    for (const change of changes) {
      if (!ctx.credentials) {
        ctx.reporter.step(change.address, 'recovering tunnel credentials from the tunnel token');
        ctx.credentials = await ctx.ports.cloudflare.recoverCredentials(change.accountId, ctx.tunnelId);
      }
      ctx.stage(change.connector, {
        change,
        // The same rendering the plan's digest was taken of (read-actual.ts), so a deployed file compares equal.
        file: { path: change.path, content: renderCredentialsFile(ctx.credentials).reveal(), mode: 0o600, sensitive: true },
        validate: true,
      });
    }
  },
};
