/**
 * How an existing cloudflared is set up on a host, from its systemd unit. Pure: the caller
 * reads the files over SSH. Facts from cloudflared's own source (github.com/cloudflare/cloudflared
 * @ d1df798, 2026-08-20):
 * - `cloudflared service install <TOKEN>` writes the token to /etc/cloudflared/token (0600) and
 *   `ExecStart=<path> --no-autoupdate tunnel run --token-file /etc/cloudflared/token`
 *   (cmd/cloudflared/linux_service.go, common_service.go `buildArgsForTokenFile`); releases before
 *   2026.7.2 put `--token <TOKEN>` on the ExecStart line instead. Without a token it runs
 *   `--config /etc/cloudflared/config.yml tunnel run`.
 * - Without `--config`, cloudflared takes the first of config.yml / config.yaml in ~/.cloudflared,
 *   ~/.cloudflare-warp, ~/cloudflare-warp, /etc/cloudflared, /usr/local/etc/cloudflared
 *   (config/configuration.go `DefaultConfigSearchDirectories`, `FindDefaultConfigPath`).
 */

/** The unit files systemd would load for cloudflared.service, most specific first. */
export const UNIT_CANDIDATES = [
  '/etc/systemd/system/cloudflared.service',
  '/lib/systemd/system/cloudflared.service',
  '/usr/lib/systemd/system/cloudflared.service',
];

/** cloudflared's config search list, for a service running as root (HOME=/root). */
export const CONFIG_SEARCH = [
  '/root/.cloudflared',
  '/root/.cloudflare-warp',
  '/root/cloudflare-warp',
  '/etc/cloudflared',
  '/usr/local/etc/cloudflared',
].flatMap((d) => [`${d}/config.yml`, `${d}/config.yaml`]);

export interface CloudflaredInvocation {
  binary: string;
  /** `--config <path>` (or `--config=<path>`). */
  configPath?: string;
  /** `--token-file <path>`. */
  tokenFile?: string;
  /** A `--token <TOKEN>` on the ExecStart line (its value is never kept). */
  inlineToken: boolean;
  /** `--credentials-file <path>`. */
  credentialsFile?: string;
  /** The argument of `tunnel run <name|uuid>`, if any. */
  tunnelRef?: string;
}

/** The `ExecStart=` of a unit (the last one wins, as systemd does for a non-oneshot service). */
export function execStartOf(unitText: string): string | undefined {
  let found: string | undefined;
  for (const raw of unitText.split('\n')) {
    const m = /^\s*ExecStart\s*=\s*(.*)$/.exec(raw);
    if (m) found = m[1]!.trim().replace(/^[-@+!:]+/, '');
  }
  return found === '' ? undefined : found;
}

/** systemd-style word splitting: whitespace, single and double quotes. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const VALUE_FLAGS = new Set([
  'config',
  'token',
  'token-file',
  'credentials-file',
  'cred-file',
  'loglevel',
  'logfile',
  'metrics',
  'protocol',
  'edge-ip-version',
  'region',
  'pidfile',
  'origincert',
  'grace-period',
  'retries',
]);

export function parseExecStart(execStart: string): CloudflaredInvocation {
  const argv = words(execStart);
  const inv: CloudflaredInvocation = { binary: argv[0] ?? 'cloudflared', inlineToken: false };
  const positional: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    if (!word.startsWith('-')) {
      positional.push(word);
      continue;
    }
    const [flag, inline] = word.replace(/^--?/, '').split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? (VALUE_FLAGS.has(flag) ? argv[++i] : undefined);
    if (flag === 'config' && value) inv.configPath = value;
    else if (flag === 'token-file' && value) inv.tokenFile = value;
    else if (flag === 'token') inv.inlineToken = true;
    else if ((flag === 'credentials-file' || flag === 'cred-file') && value) inv.credentialsFile = value;
  }
  const run = positional.indexOf('run');
  if (positional[0] === 'tunnel' && run !== -1 && positional[run + 1]) inv.tunnelRef = positional[run + 1];
  return inv;
}

/** Where cloudflared takes its config from: the explicit `--config`, else the first search-path file present. */
export function configPathFor(inv: CloudflaredInvocation, present: (path: string) => boolean): string | undefined {
  if (inv.configPath) return inv.configPath;
  return CONFIG_SEARCH.find(present);
}

/** The tunnel id inside a token (base64 JSON `{a, s, t}`); the secret is never looked at. */
export function tokenTunnelId(token: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token.trim(), 'base64').toString('utf8')) as { t?: unknown };
    return typeof parsed.t === 'string' ? parsed.t : undefined;
  } catch {
    return undefined;
  }
}
