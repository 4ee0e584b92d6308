/**
 * The POSIX sh scripts the connector adapter runs on the host. Each operation is one
 * script, sent on stdin to `/bin/sh -c 'eval "$(cat)"'`: the whole script (payloads
 * included, as base64 heredocs) is read before any of it runs, so a connection that
 * drops mid-upload leaves a syntax error and an untouched host.
 *
 * Results come back as lines tagged `@@...` (see output-parser.ts); everything else
 * on stdout is ignored, so a chatty profile or tool cannot confuse the parser.
 */
import type { DeployRequest, ProbeTarget } from '../ports/connector.js';
import { METRICS_ADDRESS } from '../ports/connector.js';
import { stagingGlob } from '../core/staging-names.js';
import { assertManagedPath, base64Lines, rooted, shQuote } from './shell.js';

/** Where scripts run: production (`root: ''`) or a sandbox directory on a test machine. */
export interface RemoteEnv {
  /** Prefix for every managed path; '' on a real host. */
  root: string;
  /** Prepended to PATH (sandbox stand-ins for systemctl, dpkg, ...). */
  binDir?: string;
  /** Sandboxes share the test machine's loopback: each one's cloudflared gets its own metrics address. */
  metrics?: string;
}

/** The command that reads a script from stdin and runs it only once it is complete. */
export const RUN_STDIN_SCRIPT = `/bin/sh -c 'eval "$(cat)"'`;

export const STATE_HEADER = '@@proxflare-state 1';
export const LOCK_PATH_DIR = '/run/lock';
/**
 * Held by every deploy for its whole life, so the connector lock also covers a deploy that
 * outlived its run (see lockScript). One per host: every deploy there swaps the same files.
 */
export const DEPLOY_LOCK_PATH = `${LOCK_PATH_DIR}/proxflare-deploy.lock`;

export function prelude(env: RemoteEnv): string {
  const lines = ['set -u', `R=${shQuote(env.root)}`, 'LC_ALL=C; export LC_ALL'];
  if (env.root !== '') {
    // Packages installed into the sandbox land under $R/usr/bin; stand-ins come next.
    const bin = env.binDir ? `${shQuote(env.binDir)}:` : '';
    lines.push(`PATH="$R/usr/local/bin:$R/usr/bin:"${bin}"$PATH"; export PATH`);
    lines.push('PROXFLARE_SANDBOX_ROOT="$R"; export PROXFLARE_SANDBOX_ROOT');
    if (env.metrics) lines.push(`PROXFLARE_SANDBOX_METRICS=${shQuote(env.metrics)}; export PROXFLARE_SANDBOX_METRICS`);
  } else {
    lines.push('PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"; export PATH');
  }
  return lines.join('\n');
}

export function wrap(env: RemoteEnv, body: string[]): string {
  // The braces make sh parse everything before running anything.
  return ['{', prelude(env), ...body, '}', ''].join('\n');
}

const VERSION_PROBE = [
  'if command -v cloudflared >/dev/null 2>&1; then',
  '  V=$(cloudflared --version 2>&1 </dev/null | head -n 1)',
  '  echo "@@version $V"',
  'else',
  '  echo "@@version-absent"',
  'fi',
];

/**
 * cloudflared version, each file's mode/owner/content, each secret file's mode/owner/digest and
 * tunnel id (never its content), the staging files of ours left beside any of them, and the
 * unit's state — one exec.
 */
export function readStateScript(env: RemoteEnv, paths: string[], unit: string, secretPaths: string[] = []): string {
  paths.forEach(assertManagedPath);
  secretPaths.forEach(assertManagedPath);
  const staging = [...paths, ...secretPaths].map((p) => {
    const { dir, prefix } = stagingGlob(p);
    // The prefix is quoted, the `*` is not: sh expands it; no match leaves the word, which -f rejects.
    // A staging file whose deploy still runs (an aborted client leaves the remote script going) is not stale.
    return `for s in "$R"${shQuote(`${dir === '/' ? '' : dir}/${prefix}`)}*; do if [ -f "$s" ] && [ ! -L "$s" ] && ! kill -0 "\${s##*.}" 2>/dev/null; then echo "@@staging \${s#"$R"}"; fi; done`;
  });
  return wrap(env, [
    `echo ${shQuote(STATE_HEADER)}`,
    ...VERSION_PROBE,
    'emit() {',
    '  f="$R$1"',
    '  if [ -f "$f" ]; then',
    '    if [ ! -r "$f" ]; then echo "@@unreadable $1"; return; fi',
    '    echo "@@file $1"',
    `    stat -c '@@meta %a %U' "$f"`,
    '    base64 -w 0 < "$f"; echo',
    '    echo "@@end"',
    '  elif [ -e "$f" ]; then echo "@@notfile $1"',
    '  else echo "@@absent $1"; fi',
    '}',
    // The credentials carry the tunnel secret: only their digest and TunnelID leave the host.
    'emit_secret() {',
    '  f="$R$1"',
    '  if [ -f "$f" ]; then',
    '    if [ ! -r "$f" ]; then echo "@@unreadable $1"; return; fi',
    '    echo "@@secret $1"',
    `    stat -c '@@meta %a %U' "$f"`,
    `    H=$(sha256sum < "$f" | cut -d ' ' -f 1); echo "@@sha256 $H"`,
    `    I=$(sed -n 's/.*"TunnelID"[[:space:]]*:[[:space:]]*"\\([0-9A-Za-z-]*\\)".*/\\1/p' "$f" | head -n 1); echo "@@tunnel-id $I"`,
    '    echo "@@end"',
    '  elif [ -e "$f" ]; then echo "@@notfile $1"',
    '  else echo "@@absent $1"; fi',
    '}',
    ...paths.map((p) => `emit ${shQuote(p)}`),
    ...secretPaths.map((p) => `emit_secret ${shQuote(p)}`),
    ...staging,
    `E=$(systemctl is-enabled ${shQuote(unit)} 2>/dev/null </dev/null); echo "@@enabled \${E:-unknown}"`,
    `A=$(systemctl is-active ${shQuote(unit)} 2>/dev/null </dev/null); echo "@@active \${A:-unknown}"`,
    'echo "@@systemd $(systemctl --version 2>/dev/null </dev/null | head -n 1)"',
    'echo "@@clock $(date +%s)"',
    'echo "@@done"',
  ]);
}

/**
 * Remove staging files of ours (`.<name>.proxflare-tmp.<pid>`), never reading them. Run under the
 * connector lock, so no deploy of ours has started since; one whose deploy shell (the pid in its
 * name) still runs, orphaned by a client that went away, is left to it (`@@in-use`).
 */
export function removeStagingScript(env: RemoteEnv, paths: string[]): string {
  paths.forEach(assertManagedPath);
  const body: string[] = [];
  for (const p of paths) {
    body.push(
      `F=${rooted(p)}`,
      `if [ -f "$F" ] && [ ! -L "$F" ]; then`,
      `  if kill -0 "\${F##*.}" 2>/dev/null; then echo "@@in-use ${p}"`,
      `  else rm -f "$F" || { echo "@@error cannot remove ${p}"; exit 65; }; echo "@@removed ${p}"; fi`,
      'fi',
    );
  }
  body.push('echo "@@done"');
  return wrap(env, body);
}

/** Exit codes of the deploy script, so the adapter can tell the failures apart. */
export const DEPLOY_EXIT = {
  staging: 20,
  validation: 10,
  swap: 21,
  restart: 11,
  health: 12,
  busy: 22,
} as const;

/**
 * Stage every file next to its target (tmp + fsync), validate the new config, keep the
 * old files as `.proxflare.bak`, rename into place, daemon-reload, enable + restart,
 * check the unit is active; on failure put the old files back and restart the old config.
 * The whole script holds the host's deploy lock; `holder` goes into it to say whose deploy it is.
 */
export function deployScript(env: RemoteEnv, request: DeployRequest, holder = 'unknown'): string {
  const unit = shQuote(request.unit);
  const files = request.files.map((f, i) => {
    assertManagedPath(f.path);
    return { ...f, n: i + 1 };
  });
  const body: string[] = [
    'umask 077',
    'fail() { code=$1; shift; echo "@@error $*"; exit "$code"; }',
    'out() { sed "s/^/@@out /"; }',
    'fsync_path() { sync "$1" 2>/dev/null || sync; }',
    'own_root() { if [ "$(id -u)" = 0 ]; then chown 0:0 "$1"; fi; }',
    `cleanup() { rm -f ${files.map((f) => `"\${T${f.n}:-}"`).join(' ')}; }`,
    'trap cleanup EXIT',
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
    // A client that went away (a second Ctrl-C, a dropped link) closes our stdout; without this the
    // next line written would kill the script between the swap and the restart. The step is
    // finished instead (or rolled back by its own checks); its output goes nowhere.
    `trap '' PIPE`,
    // Never wait: the connector lock has already waited for an earlier deploy, so a holder now is
    // one that raced ours (an orphan that got here late, or a run that skipped the lock), and the
    // second of the two must change nothing.
    `DL=${rooted(DEPLOY_LOCK_PATH)}`,
    `mkdir -p "$(dirname "$DL")" || fail ${DEPLOY_EXIT.staging} "cannot create ${LOCK_PATH_DIR}"`,
    `exec 8>>"$DL" || fail ${DEPLOY_EXIT.staging} "cannot open ${DEPLOY_LOCK_PATH}"`,
    `if ! flock -n 8; then echo "@@deploy-busy"; sed "s/^/@@holder /" "$DL"; fail ${DEPLOY_EXIT.busy} "another deploy is still running on this host"; fi`,
    `printf '%s (connector pid %s)\\n' ${shQuote(holder.replace(/[\r\n]/g, ' '))} "$$" > "$DL"`,
    // systemctl starts the unit from PID 1, but a systemctl that runs services as its own
    // children (systemd replacements in containers) would keep the lock for the unit's lifetime.
    'systemctl() { command systemctl "$@" 8>&-; }',
  ];
  for (const f of files) {
    const delim = `PROXFLARE_EOF_${f.n}`;
    body.push(
      `F${f.n}=${rooted(f.path)}; D${f.n}=$(dirname "$F${f.n}"); S${f.n}=0; H${f.n}=0`,
      `(umask 022; mkdir -p "$D${f.n}") || fail ${DEPLOY_EXIT.staging} "cannot create directory ${f.path.replace(/[^/]*$/, '')}"`,
      `T${f.n}="$D${f.n}/.$(basename "$F${f.n}").proxflare-tmp.$$"`,
      `base64 -d > "$T${f.n}" <<'${delim}' || fail ${DEPLOY_EXIT.staging} "cannot write a temporary file next to ${f.path}"`,
      base64Lines(f.content),
      delim,
      `own_root "$T${f.n}" && chmod ${f.mode.toString(8)} "$T${f.n}" || fail ${DEPLOY_EXIT.staging} "cannot set owner/mode on ${f.path}"`,
      `fsync_path "$T${f.n}"`,
    );
  }
  if (request.validateConfig !== undefined) {
    assertManagedPath(request.validateConfig);
    const staged = files.find((f) => f.path === request.validateConfig);
    body.push(
      staged ? `CFG="$T${staged.n}"` : `CFG=${rooted(request.validateConfig)}`,
      'echo "@@validate"',
      'if ! VOUT=$(cloudflared tunnel --config "$CFG" ingress validate 2>&1 </dev/null); then',
      '  printf "%s\\n" "$VOUT" | out',
      `  fail ${DEPLOY_EXIT.validation} "cloudflared rejected the new configuration ${request.validateConfig}"`,
      'fi',
    );
  }
  body.push(
    `WAS_ACTIVE=0; systemctl is-active --quiet ${unit} </dev/null 2>/dev/null && WAS_ACTIVE=1`,
    'restore() {',
    ...files.map((f) =>
      [
        `  if [ "$S${f.n}" = 1 ]; then`,
        `    if [ "$H${f.n}" = 1 ]; then ln -f "$F${f.n}.proxflare.bak" "$T${f.n}" && mv -f "$T${f.n}" "$F${f.n}"`,
        `    else rm -f "$F${f.n}"; fi`,
        `    S${f.n}=0`,
        '  fi',
      ].join('\n'),
    ),
    ...files.map((f) => `  fsync_path "$D${f.n}"`),
    '  :',
    '}',
    'rollback() {',
    '  restore',
    request.reloadUnits ? '  systemctl daemon-reload </dev/null 2>&1 | out' : '  :',
    '  if [ "$WAS_ACTIVE" = 1 ]; then',
    `    if ROUT=$(systemctl restart ${unit} 2>&1 </dev/null) && systemctl is-active --quiet ${unit} </dev/null; then`,
    '      echo "@@rollback-restarted"',
    '    else',
    '      printf "%s\\n" "$ROUT" | out',
    '      echo "@@rollback-restart-failed"',
    '    fi',
    '  fi',
    '  echo "@@rolled-back"',
    '}',
  );
  for (const f of files) {
    body.push(
      `if [ -e "$F${f.n}" ]; then`,
      `  { ln -f "$F${f.n}" "$F${f.n}.proxflare.bak" 2>/dev/null || cp -p "$F${f.n}" "$F${f.n}.proxflare.bak"; } || { rollback; fail ${DEPLOY_EXIT.swap} "cannot keep a backup of ${f.path}"; }`,
      `  H${f.n}=1`,
      'fi',
      `mv -f "$T${f.n}" "$F${f.n}" || { rollback; fail ${DEPLOY_EXIT.swap} "cannot rename the new ${f.path} into place"; }`,
      `S${f.n}=1`,
    );
  }
  body.push(...[...new Set(files.map((f) => `fsync_path "$D${f.n}"`))], 'echo "@@swapped"');
  if (request.reloadUnits) {
    body.push(
      'if ! ROUT=$(systemctl daemon-reload 2>&1 </dev/null); then',
      '  printf "%s\\n" "$ROUT" | out; rollback',
      `  fail ${DEPLOY_EXIT.restart} "systemctl daemon-reload failed"`,
      'fi',
    );
  }
  for (const other of request.enable ?? []) {
    body.push(
      `if ! ROUT=$(systemctl enable --now ${shQuote(other)} 2>&1 </dev/null); then`,
      '  printf "%s\\n" "$ROUT" | out; rollback',
      `  fail ${DEPLOY_EXIT.restart} "systemctl enable --now ${other} failed"`,
      'fi',
    );
  }
  if (request.restart) {
    body.push(
      `if ! ROUT=$(systemctl enable ${unit} 2>&1 </dev/null); then`,
      '  printf "%s\\n" "$ROUT" | out; rollback',
      `  fail ${DEPLOY_EXIT.restart} "systemctl enable ${request.unit} failed"`,
      'fi',
      `if ! ROUT=$(systemctl restart ${unit} 2>&1 </dev/null) || ! systemctl is-active --quiet ${unit} </dev/null; then`,
      '  printf "%s\\n" "$ROUT" | out',
      `  echo "@@result $(systemctl show -p Result --value ${unit} </dev/null 2>/dev/null)"`,
      `  systemctl status --no-pager -n 20 ${unit} </dev/null 2>&1 | out`,
      `  if command -v journalctl >/dev/null 2>&1; then journalctl -u ${unit} -n 20 --no-pager </dev/null 2>&1 | out; fi`,
      '  rollback',
      `  fail ${DEPLOY_EXIT.restart} "${request.unit} did not start with the new configuration"`,
      'fi',
      'echo "@@restarted"',
    );
    if (request.readyTimeoutSeconds !== undefined) {
      // The health gate: the restarted cloudflared must hold an edge connection (/ready 200)
      // before the next replica is touched; otherwise the old config comes back.
      body.push(
        ...readyFunction(),
        `N=0; while :; do ready_once; [ "$RCODE" = 200 ] && break; N=$((N+1)); [ "$N" -ge ${request.readyTimeoutSeconds * 2} ] && break; sleep 0.5; done`,
        'echo "@@ready ${RCODE:-}"',
        'echo "@@ready-body ${RBODY:-}"',
        'emit_config',
        'if [ "$RCODE" != 200 ]; then',
        '  rollback',
        `  fail ${DEPLOY_EXIT.health} "${request.unit} restarted but /ready answered \${RCODE:-nothing} for ${request.readyTimeoutSeconds}s (no edge connection)"`,
        'fi',
      );
    }
  }
  body.push('echo "@@done"');
  return wrap(env, body);
}

/**
 * Sets RCODE (HTTP status, empty when nothing answered) and RBODY from cloudflared's `/ready`
 * on the connector's loopback, and CCODE / CBODY from its `/config` (the running config, see
 * RunningConfig): curl when present, else bash's /dev/tcp (Debian's LXC templates have bash but
 * not always curl).
 */
function readyFunction(): string[] {
  return [
    `M="\${PROXFLARE_SANDBOX_METRICS:-${METRICS_ADDRESS}}"`,
    'metrics_get() {',
    '  RB=""',
    '  if command -v curl >/dev/null 2>&1; then',
    `    RB=$(curl -s -m 3 -w '\n@@code %{http_code}' "http://$M$1" 2>/dev/null </dev/null) || true`,
    '  elif command -v bash >/dev/null 2>&1; then',
    `    RB=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/\${1%:*}/\${1##*:}" || exit 1; printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$2" "$1" >&3; cat <&3' _ "$M" "$1" 2>/dev/null </dev/null | tr -d '\r' | awk 'NR==1{c=$2;next} b{print;next} /^$/{b=1} END{print "@@code " c}') || true`,
    '  fi',
    `  MCODE=$(printf '%s\n' "$RB" | sed -n 's/^@@code //p' | tail -n 1)`,
    `  MBODY=$(printf '%s\n' "$RB" | grep -v '^@@code ' | tr -d '\n')`,
    '  [ "$MCODE" = 000 ] && MCODE=""',
    '  :',
    '}',
    'ready_once() { metrics_get /ready; RCODE=$MCODE; RBODY=$MBODY; }',
    'config_once() { metrics_get /config; CCODE=$MCODE; CBODY=$MBODY; }',
    'emit_config() { config_once; if [ "$CCODE" = 200 ]; then echo "@@config-body $CBODY"; fi; }',
  ];
}

/** One read of `/ready` and `/config`: `@@ready <code>`, `@@ready-body <json>`, `@@config-body <json>`. */
export function readinessScript(env: RemoteEnv): string {
  return wrap(env, [
    ...readyFunction(),
    'ready_once',
    'echo "@@ready ${RCODE:-}"',
    'echo "@@ready-body ${RBODY:-}"',
    'emit_config',
    'echo "@@done"',
  ]);
}

/** Installed cloudflared package version, as dpkg sees it (empty when absent). */
function dpkgVersionLine(): string {
  return `P=$(dpkg-query -W --showformat='\${Version}' cloudflared 2>/dev/null </dev/null || true); echo "@@pkg-version \${P:-}"`;
}

export function packageVersionScript(env: RemoteEnv): string {
  return wrap(env, [dpkgVersionLine(), ...VERSION_PROBE, 'echo "@@done"']);
}

/** Install an uploaded .deb unless the same version is already installed; removes the upload. */
export function installDebScript(env: RemoteEnv, remoteDeb: string): string {
  return wrap(env, [
    `DEB=${shQuote(remoteDeb)}`,
    `trap 'rm -f "$DEB"' EXIT`,
    dpkgVersionLine(),
    'NEW=$(dpkg-deb -f "$DEB" Version 2>&1 </dev/null) || { printf "%s\\n" "$NEW" | sed "s/^/@@out /"; echo "@@error the uploaded file is not a valid .deb"; exit 30; }',
    'echo "@@deb-version $NEW"',
    'if [ "$NEW" != "${P:-}" ]; then',
    '  if ! OUT=$(DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" 2>&1 </dev/null); then',
    '    printf "%s\\n" "$OUT" | sed "s/^/@@out /"; echo "@@error dpkg -i failed"; exit 31',
    '  fi',
    '  echo "@@installed"',
    'fi',
    ...VERSION_PROBE,
    'echo "@@done"',
  ]);
}

export const CLOUDFLARE_APT = {
  keyUrl: 'https://pkg.cloudflare.com/cloudflare-main.gpg',
  keyring: '/etc/apt/keyrings/cloudflared.gpg',
  sources: '/etc/apt/sources.list.d/cloudflared.sources',
  repo: 'https://pkg.cloudflare.com/cloudflared/',
} as const;

/**
 * Configure Cloudflare's apt repository (deb822 + keyring, as the community scripts do) and
 * install cloudflared, pinned when `version` is given. Skips everything when it is already there.
 */
export function installAptScript(env: RemoteEnv, version: string | undefined): string {
  const pkg = version ? `cloudflared=${version}` : 'cloudflared';
  const sources = [
    'Types: deb',
    `URIs: ${CLOUDFLARE_APT.repo}`,
    'Suites: any',
    'Components: main',
    `Signed-By: ${CLOUDFLARE_APT.keyring}`,
  ].join('\n');
  return wrap(env, [
    'fail() { code=$1; shift; echo "@@error $*"; exit "$code"; }',
    dpkgVersionLine(),
    `WANT=${shQuote(version ?? '')}`,
    'if [ -n "${P:-}" ] && { [ -z "$WANT" ] || [ "$WANT" = "$P" ]; }; then',
    '  echo "@@already"',
    'else',
    `  K=${rooted(CLOUDFLARE_APT.keyring)}; L=${rooted(CLOUDFLARE_APT.sources)}`,
    '  mkdir -p "$(dirname "$K")" "$(dirname "$L")" || fail 40 "cannot create apt directories"',
    '  KT="$K.proxflare-tmp.$$"; trap \'rm -f "$KT" "$KT.asc"\' EXIT',
    '  if [ ! -s "$K" ]; then',
    `    if command -v curl >/dev/null 2>&1; then OUT=$(curl -fsSL --max-time 60 -o "$KT.asc" ${shQuote(CLOUDFLARE_APT.keyUrl)} 2>&1)`,
    `    elif command -v wget >/dev/null 2>&1; then OUT=$(wget -q -T 60 -O "$KT.asc" ${shQuote(CLOUDFLARE_APT.keyUrl)} 2>&1)`,
    '    else fail 41 "neither curl nor wget is installed; install one, or use connector.cloudflared.type: deb"; fi',
    '    [ $? -eq 0 ] || { printf "%s\\n" "$OUT" | sed "s/^/@@out /"; fail 41 "cannot download the Cloudflare apt key"; }',
    '    if head -c 40 "$KT.asc" | grep -q "BEGIN PGP"; then',
    '      OUT=$(gpg --dearmor < "$KT.asc" > "$KT" 2>&1) || { printf "%s\\n" "$OUT" | sed "s/^/@@out /"; fail 41 "cannot dearmor the apt key (is gpg installed?)"; }',
    '    else mv -f "$KT.asc" "$KT"; fi',
    '    chmod 644 "$KT" && mv -f "$KT" "$K" || fail 41 "cannot install the apt keyring"',
    '  fi',
    `  cat > "$L" <<'PROXFLARE_EOF_SOURCES'`,
    sources,
    'PROXFLARE_EOF_SOURCES',
    '  chmod 644 "$L"',
    '  export DEBIAN_FRONTEND=noninteractive',
    '  OUT=$(apt-get update 2>&1 </dev/null) || { printf "%s\\n" "$OUT" | sed "s/^/@@out /"; fail 42 "apt-get update failed"; }',
    `  OUT=$(apt-get install -y --allow-downgrades -o Dpkg::Options::=--force-confold ${shQuote(pkg)} 2>&1 </dev/null) || { printf "%s\\n" "$OUT" | tail -n 30 | sed "s/^/@@out /"; fail 43 "apt-get install ${pkg} failed"; }`,
    '  echo "@@installed"',
    'fi',
    ...VERSION_PROBE,
    'echo "@@done"',
  ]);
}

/** Holder info goes into the lock file so a waiting run can say who has it. */
export function lockScript(env: RemoteEnv, name: string, waitMs: number, holder: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  const seconds = Math.max(0, waitMs / 1000).toFixed(3);
  return [
    prelude(env),
    `L=${rooted(`${LOCK_PATH_DIR}/proxflare-${safe}.lock`)}`,
    `DL=${rooted(DEPLOY_LOCK_PATH)}`,
    'mkdir -p "$(dirname "$L")" || { echo "@@error cannot create $(dirname "$L")"; exit 50; }',
    // Seconds since boot: the wait for the deploy lock gets what is left of the budget.
    'T0=$(cut -d " " -f 1 /proc/uptime 2>/dev/null) || T0=',
    'exec 9>>"$L" || { echo "@@error cannot open $L"; exit 50; }',
    `if ! flock -w ${seconds} 9; then echo "@@busy"; sed "s/^/@@holder /" "$L"; exit 75; fi`,
    `printf '%s\\n' ${shQuote(holder.replace(/[\r\n]/g, ' '))} > "$L"`,
    // A deploy whose run went away (a second Ctrl-C, a dropped link) still runs and holds the
    // deploy lock: wait for it to finish, but do not keep that lock (our own deploys take it).
    `W=${seconds}; [ -n "$T0" ] && W=$(awk -v t0="$T0" -v w=${seconds} '{ l = w - ($1 - t0); printf "%.3f", (l > 0 ? l : 0) }' /proc/uptime)`,
    'exec 8>>"$DL" || { echo "@@error cannot open $DL"; exit 50; }',
    'if ! flock -w "$W" 8; then echo "@@deploy-busy"; sed "s/^/@@holder /" "$DL"; : > "$L"; exit 75; fi',
    'exec 8>&-',
    'echo "@@locked"',
    // Held until the adapter closes stdin (release, or the connection dies).
    'cat >/dev/null',
    ': > "$L"',
    'echo "@@released"',
  ].join('\n');
}

/** One check per target from the connector: curl, else bash /dev/tcp, else python3. */
export function probeScript(env: RemoteEnv, targets: ProbeTarget[], timeoutSeconds = 5): string {
  const t = String(timeoutSeconds);
  const body: string[] = [
    'HAVE_CURL=0; command -v curl >/dev/null 2>&1 && HAVE_CURL=1',
    'HAVE_BASH=0; command -v bash >/dev/null 2>&1 && HAVE_BASH=1',
    'HAVE_PY=0; command -v python3 >/dev/null 2>&1 && HAVE_PY=1',
    'tcp() {',
    `  if [ "$HAVE_BASH" = 1 ]; then timeout ${t} bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>&1`,
    `  elif [ "$HAVE_PY" = 1 ]; then O=$(python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), ${t})' "$1" "$2" 2>&1); rc=$?; printf "%s" "$O" | tail -n 1; return $rc`,
    '  else echo "no curl, bash or python3 on the connector to probe with"; return 2; fi',
    '}',
    'http() {',
    `  if [ "$HAVE_CURL" = 1 ]; then C=$(curl -ksS -o /dev/null -m ${t} -w '%{http_code}' "$1" 2>&1); rc=$?; [ $rc = 0 ] && echo "HTTP $C" || echo "$C"; return $rc`,
    `  elif [ "$HAVE_PY" = 1 ]; then O=$(python3 -c 'import ssl,sys,urllib.request,urllib.error
try:
  r=urllib.request.urlopen(sys.argv[1], timeout=${t}, context=ssl._create_unverified_context()); print("HTTP", r.status)
except urllib.error.HTTPError as e: print("HTTP", e.code)
except Exception as e: print(e); sys.exit(1)' "$1" 2>&1); rc=$?; printf "%s" "$O" | tail -n 1; return $rc`,
    '  else tcp "$2" "$3" && echo "TCP connect ok (no curl or python3 for HTTP)"; fi',
    '}',
    'report() { i=$1; shift; if D=$("$@"); then echo "@@probe $i ok ${D:-connected}"; else echo "@@probe $i fail $(printf "%s" "$D" | tr "\\n" " ")"; fi; }',
  ];
  targets.forEach((target, i) => {
    const parsed = parseProbeUrl(target.url);
    if (parsed.kind === 'http') {
      body.push(`report ${i} http ${shQuote(target.url)} ${shQuote(parsed.host)} ${shQuote(String(parsed.port))}`);
    } else if (parsed.kind === 'tcp') {
      body.push(`report ${i} tcp ${shQuote(parsed.host)} ${shQuote(String(parsed.port))}`);
    } else {
      body.push(`echo ${shQuote(`@@probe ${i} skip ${parsed.reason}`)}`);
    }
  });
  body.push('echo "@@done"');
  return wrap(env, body);
}

type ParsedProbe =
  { kind: 'http'; host: string; port: number } | { kind: 'tcp'; host: string; port: number } | { kind: 'skip'; reason: string };

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ssh: 22, rdp: 3389 };

export function parseProbeUrl(url: string): ParsedProbe {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'skip', reason: `not a URL: ${url}` };
  }
  const scheme = u.protocol.replace(/:$/, '');
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[scheme];
  if (scheme === 'http' || scheme === 'https') return { kind: 'http', host, port: port ?? 80 };
  if (['tcp', 'ssh', 'rdp'].includes(scheme) && port !== undefined) return { kind: 'tcp', host, port };
  return { kind: 'skip', reason: `${scheme} origins are not probed` };
}
