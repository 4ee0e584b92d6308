import type { TunnelConfigChange } from '../../plan/types.js';
import { resolvePlaceholders } from './access.js';
import { oneByOne } from './executor.js';

/** A remotely-managed tunnel's configuration on Cloudflare, replaced by config.yml's ingress (the edge pushes it to every connector). */
export const tunnelConfigExecutor = oneByOne<TunnelConfigChange>(async (change, ctx) => {
  ctx.reporter.step(change.address, 'replacing the configuration Cloudflare pushes to the connectors');
  // An Access app created by this plan has its aud only now.
  const version = await ctx.ports.cloudflare.putTunnelConfiguration(
    change.accountId,
    ctx.tunnelId,
    resolvePlaceholders(change.after, ctx.resolved),
  );
  ctx.reporter.done(change.address, `version ${version}`);
});
