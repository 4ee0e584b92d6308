import type { ConnectorSpec } from '../inventory/types.js';
import {
  renderWatchdogScript,
  renderWatchdogService,
  renderWatchdogTimer,
  supportsRestartSteps,
  WATCHDOG_PATHS,
  withRestartBackoff,
} from '../render/watchdog.js';
import type { ReplicaActual } from './actual-state.js';
import type { DesiredState } from './desired-state.js';

/**
 * The watchdog's managed files on each replica (`file:<replica>:/etc/systemd/system/proxflare-watchdog.timer`,
 * ...; see render/watchdog.ts). cloudflared does not read them, so changing them deploys them
 * without restarting it; the deploy enables and starts the timer. Pure.
 */
export function watchdogFiles(): { path: string; content: string; mode: number; validate: boolean; restarts: false }[] {
  return [
    { path: WATCHDOG_PATHS.script, content: renderWatchdogScript(), mode: 0o755, validate: false, restarts: false },
    { path: WATCHDOG_PATHS.service, content: renderWatchdogService(), mode: 0o644, validate: false, restarts: false },
    { path: WATCHDOG_PATHS.timer, content: renderWatchdogTimer(), mode: 0o644, validate: false, restarts: false },
  ];
}

/** The unit file for one replica: with systemd's own restart back-off where its systemd has it (≥ 254). */
export function replicaUnitFile(spec: ConnectorSpec, actual: ReplicaActual, desired: DesiredState): string {
  return supportsRestartSteps(actual.host?.systemdVersion, spec.template) ? withRestartBackoff(desired.unitFile) : desired.unitFile;
}
