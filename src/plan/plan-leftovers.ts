import type { ConnectorState } from '../ports/connector.js';
import { hostAddress } from './addresses.js';
import type { LeftoverChange } from './types.js';

/**
 * What `cloudflared service install <TOKEN>` writes besides the unit proxflare replaces
 * (github.com/cloudflare/cloudflared cmd/cloudflared/linux_service.go: the token file since
 * 2026.7.2, and without `--no-update-service` cloudflared-update.service + .timer, a daily
 * `cloudflared update`; access-ha-health.md §4.3). A community-scripts cloudflared LXC is set up
 * exactly so. Once proxflare's unit runs from the credentials file, the token is an unused copy
 * of the tunnel's secret and the self-update would move cloudflared off the pinned version.
 * Only these exact paths are ever removed.
 */
export const SERVICE_INSTALL_LEFTOVERS = {
  token: '/etc/cloudflared/token',
  updateService: '/etc/systemd/system/cloudflared-update.service',
  updateTimer: '/etc/systemd/system/cloudflared-update.timer',
} as const;

export const LEFTOVER_PATHS: readonly string[] = Object.values(SERVICE_INSTALL_LEFTOVERS);

/** The leftovers present on a connector that was read, as one delete; none when nothing is left. Pure. */
export function planLeftovers(connector: string, host: ConnectorState | undefined): LeftoverChange | undefined {
  if (!host) return undefined;
  const paths = LEFTOVER_PATHS.filter((p) => host.files.has(p));
  if (paths.length === 0) return undefined;
  const units = paths.includes(SERVICE_INSTALL_LEFTOVERS.updateTimer) ? ['cloudflared-update.timer'] : [];
  return {
    kind: 'leftover',
    connector,
    address: hostAddress('leftover', connector, 'cloudflared-service-install'),
    action: 'delete',
    reason:
      'left by `cloudflared service install`: the token the old unit ran with and its daily self-update; removed once the credentials-file unit runs',
    paths,
    units,
    before: { paths },
    after: undefined,
  };
}
