/**
 * The connector scripts `destroy` runs: stop the service, remove proxflare's files. Same
 * conventions as remote-scripts.ts (one script per operation, `@@` tagged results, every
 * path under `$R` so a sandbox directory can play the host).
 */
import { wrap } from './remote-scripts.js';
import type { RemoteEnv } from './remote-scripts.js';
import { assertManagedPath, rooted, shQuote } from './shell.js';

/**
 * `systemctl stop` is the graceful stop: systemd sends SIGTERM and cloudflared drains its
 * connections for its grace period before it exits, unregistering them at the edge. Then
 * `disable`, so a reboot of a kept connector does not bring it back. A unit that is not there
 * (already removed) is already stopped.
 */
export function stopServiceScript(env: RemoteEnv, unit: string): string {
  const u = shQuote(unit);
  return wrap(env, [
    'out() { sed "s/^/@@out /"; }',
    `if systemctl is-active --quiet ${u} </dev/null 2>/dev/null; then`,
    `  if ! OUT=$(systemctl stop ${u} 2>&1 </dev/null); then printf "%s\\n" "$OUT" | out; echo "@@error systemctl stop ${unit} failed"; exit 60; fi`,
    '  echo "@@stopped"',
    'fi',
    `E=$(systemctl is-enabled ${u} 2>/dev/null </dev/null)`,
    'if [ "$E" = enabled ]; then',
    `  if ! OUT=$(systemctl disable ${u} 2>&1 </dev/null); then printf "%s\\n" "$OUT" | out; echo "@@error systemctl disable ${unit} failed"; exit 61; fi`,
    '  echo "@@disabled"',
    'fi',
    `if systemctl is-active --quiet ${u} </dev/null 2>/dev/null; then echo "@@error ${unit} is still active after stop"; exit 62; fi`,
    'echo "@@done"',
  ]);
}

/** rm -f each path and the `.proxflare.bak` deploy leaves next to it; then daemon-reload if asked. */
export function removeFilesScript(env: RemoteEnv, paths: string[], reloadUnits: boolean): string {
  paths.forEach(assertManagedPath);
  const body = ['out() { sed "s/^/@@out /"; }'];
  for (const p of paths) {
    body.push(
      `F=${rooted(p)}`,
      `if [ -e "$F" ] || [ -e "$F.proxflare.bak" ]; then rm -f "$F" "$F.proxflare.bak" || { echo "@@error cannot remove ${p}"; exit 63; }; echo "@@removed ${p}"; fi`,
    );
  }
  if (reloadUnits) {
    body.push(
      'if ! OUT=$(systemctl daemon-reload 2>&1 </dev/null); then printf "%s\\n" "$OUT" | out; echo "@@error systemctl daemon-reload failed"; exit 64; fi',
    );
  }
  body.push('echo "@@done"');
  return wrap(env, body);
}
