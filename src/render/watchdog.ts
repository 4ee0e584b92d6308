import { METRICS_ADDRESS } from '../ports/connector.js';
import { MANAGED_HEADER } from './managed-header.js';

/**
 * The watchdog proxflare installs next to cloudflared on every connector, as managed files.
 *
 * Why: cloudflared can stay "active" with zero edge connections for good (a connection whose
 * protocol fallback is exhausted is not retried; cloudflared #278, #306, #1381), and it sends no
 * WATCHDOG=1 to systemd, so `WatchdogSec=` cannot be used. A timer runs a small script that reads
 * `/ready` on the pinned metrics address; after `failuresBeforeRestart` answers other than 200 in
 * a row it restarts the unit, then waits 5 s, 10 s, 20 s … at most 5 min before the next restart
 * while `/ready` keeps failing; one 200 resets it. The state (failures, restarts, not-before
 * time) lives in one small file, so the logic can be tested run by run, without waiting.
 *
 * A cloudflared.service that is not enabled (a standby, or stopped on purpose) is left alone.
 */
export const WATCHDOG_PATHS = {
  script: '/usr/local/lib/proxflare/cloudflared-watchdog',
  service: '/etc/systemd/system/proxflare-watchdog.service',
  timer: '/etc/systemd/system/proxflare-watchdog.timer',
  state: '/var/lib/proxflare/watchdog.state',
} as const;
export const WATCHDOG_TIMER = 'proxflare-watchdog.timer';

export interface WatchdogSettings {
  unit: string;
  failuresBeforeRestart: number;
  intervalSeconds: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
}

export const DEFAULT_WATCHDOG: WatchdogSettings = {
  unit: 'cloudflared.service',
  failuresBeforeRestart: 3,
  intervalSeconds: 10,
  firstDelaySeconds: 5,
  maxDelaySeconds: 300,
};

export function renderWatchdogScript(s: WatchdogSettings = DEFAULT_WATCHDOG): string {
  return `#!/bin/sh
${MANAGED_HEADER}
# proxflare's cloudflared watchdog, run by ${WATCHDOG_TIMER} every ${s.intervalSeconds} s: restarts
# ${s.unit} after ${s.failuresBeforeRestart} failed /ready checks in a row, then backs off
# (${s.firstDelaySeconds} s, doubling, at most ${s.maxDelaySeconds} s between restarts) until /ready answers 200 again.
# State: "<failures> <restarts> <not-before epoch>" in ${WATCHDOG_PATHS.state}.
# PROXFLARE_SANDBOX_* are only set by proxflare's test sandbox; on a connector they are empty.
set -u
UNIT=${s.unit}
N=${s.failuresBeforeRestart}
FIRST=${s.firstDelaySeconds}
MAX=${s.maxDelaySeconds}
M="\${PROXFLARE_SANDBOX_METRICS:-${METRICS_ADDRESS}}"
STATE="\${PROXFLARE_SANDBOX_ROOT:-}${WATCHDOG_PATHS.state}"

failures=0; restarts=0; next=0
if [ -r "$STATE" ]; then
  read -r f r n < "$STATE" || true
  case "\${f:-}\${r:-}\${n:-}" in *[!0-9]*|'') ;; *) failures=$f; restarts=$r; next=$n ;; esac
fi
save() {
  mkdir -p "$(dirname "$STATE")" && printf '%s %s %s\\n' "$failures" "$restarts" "$next" > "$STATE.tmp" && mv -f "$STATE.tmp" "$STATE"
}
ready_code() {
  if command -v curl >/dev/null 2>&1; then
    c=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$M/ready" 2>/dev/null </dev/null) || true
    [ "$c" = 000 ] && c=""
    printf '%s' "$c"
  elif command -v bash >/dev/null 2>&1; then
    timeout 3 bash -c 'exec 3<>"/dev/tcp/\${1%:*}/\${1##*:}" || exit 1; printf "GET /ready HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" >&3; head -n 1 <&3' _ "$M" 2>/dev/null </dev/null | awk '{printf "%s", $2}'
  fi
}

if ! systemctl is-enabled --quiet "$UNIT" </dev/null 2>/dev/null; then
  failures=0; restarts=0; next=0; save
  echo "watchdog: $UNIT is not enabled (standby or stopped on purpose): nothing to do"
  exit 0
fi
code=$(ready_code)
if [ "$code" = 200 ]; then
  [ "$failures" = 0 ] && [ "$restarts" = 0 ] || echo "watchdog: /ready answers 200 again; back-off reset"
  failures=0; restarts=0; next=0; save
  exit 0
fi
failures=$((failures + 1))
now=$(date +%s)
if [ "$failures" -lt "$N" ]; then
  save; echo "watchdog: /ready \${code:-did not answer} ($failures of $N before a restart)"; exit 0
fi
if [ "$now" -lt "$next" ]; then
  save; echo "watchdog: /ready \${code:-did not answer}; backing off, next restart not before $next"; exit 0
fi
delay=$FIRST; i=0
while [ "$i" -lt "$restarts" ] && [ "$delay" -lt "$MAX" ]; do delay=$((delay * 2)); i=$((i + 1)); done
[ "$delay" -gt "$MAX" ] && delay=$MAX
echo "watchdog: /ready \${code:-did not answer} $failures times in a row: restarting $UNIT (restart $((restarts + 1)); the next one not before \${delay} s)"
systemctl restart "$UNIT" </dev/null || echo "watchdog: systemctl restart $UNIT failed"
restarts=$((restarts + 1)); next=$((now + delay)); save
`;
}

export function renderWatchdogService(s: WatchdogSettings = DEFAULT_WATCHDOG): string {
  return `${MANAGED_HEADER}
[Unit]
Description=proxflare watchdog: restart ${s.unit} when its /ready keeps failing
After=${s.unit}

[Service]
Type=oneshot
ExecStart=${WATCHDOG_PATHS.script}
`;
}

export function renderWatchdogTimer(s: WatchdogSettings = DEFAULT_WATCHDOG): string {
  return `${MANAGED_HEADER}
[Unit]
Description=Run the proxflare cloudflared watchdog every ${s.intervalSeconds} s

[Timer]
OnBootSec=30s
OnUnitActiveSec=${s.intervalSeconds}s
AccuracySec=1s

[Install]
WantedBy=timers.target
`;
}

/** First systemd release with RestartSteps= and RestartMaxDelaySec= (systemd.service(5): "Added in version 254"). */
export const SYSTEMD_RESTART_STEPS = 254;

/**
 * cloudflared.service with systemd's own exponential restart back-off, for systemd ≥ 254:
 * RestartSec=5s growing over 6 steps to RestartMaxDelaySec=300s (≈ 5, 10, 20, 39, 77, 152, 300 s;
 * systemd src/core/service.c service_restart_usec_next) and StartLimitIntervalSec=0 so the start
 * limiter never gives up. Debian 12 ships systemd 252, which does not know these keys (it would
 * log "Unknown key name" and ignore them): there the unit keeps the fixed RestartSec=5s and the
 * watchdog timer supplies the back-off. A unit without Restart= (a custom template) is left as it is.
 */
export function withRestartBackoff(unitFile: string): string {
  if (!/^Restart=/m.test(unitFile) || /^RestartSteps=/m.test(unitFile)) return unitFile;
  let out = unitFile.replace(/^(RestartSec=.*)$/m, '$1\nRestartSteps=6\nRestartMaxDelaySec=300s');
  if (out === unitFile) out = unitFile.replace(/^(Restart=.*)$/m, '$1\nRestartSec=5s\nRestartSteps=6\nRestartMaxDelaySec=300s');
  if (!/^StartLimitIntervalSec=/m.test(out)) out = out.replace(/^\[Unit\]$/m, '[Unit]\nStartLimitIntervalSec=0');
  return out;
}

/**
 * Whether a replica's systemd knows RestartSteps=: what `systemctl --version` said on it, or,
 * before it can be read (about to be created), what its LXC template ships (Debian 13: 257,
 * Ubuntu 24.04: 255; Debian 12: 252). A wrong guess only costs one unit update once it is read.
 */
export function supportsRestartSteps(systemdVersion: number | undefined, template: string): boolean {
  if (systemdVersion !== undefined) return systemdVersion >= SYSTEMD_RESTART_STEPS;
  return /debian-(1[3-9]|[2-9]\d)|ubuntu-(2[4-9]|[3-9]\d)/.test(template);
}
