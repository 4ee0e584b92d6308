import { MANAGED_PATHS } from '../plan/actual-state.js';
import { WATCHDOG_PATHS, WATCHDOG_TIMER } from '../render/watchdog.js';
import type { StagedFile } from './executor-context.js';

/**
 * What a deploy of these staged files needs besides the swap: a daemon-reload when a unit file
 * is among them (cloudflared's or the watchdog's), and the watchdog timer enabled and started
 * when its files land (a standby's too: the watchdog leaves a disabled cloudflared alone).
 */
export function deployExtras(staged: StagedFile[]): { reloadUnits: boolean; enable?: string[] } {
  const paths = staged.map((s) => s.file.path);
  const reloadUnits = paths.some((p) => p === MANAGED_PATHS.unitFile || p === WATCHDOG_PATHS.service || p === WATCHDOG_PATHS.timer);
  return { reloadUnits, ...(paths.includes(WATCHDOG_PATHS.timer) ? { enable: [WATCHDOG_TIMER] } : {}) };
}
