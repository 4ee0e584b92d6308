import { sha256Hex } from '../core/digest.js';
import type { CloudflaredSource } from '../inventory/types.js';
import type { ConnectorState } from '../ports/connector.js';
import { hostAddress } from './addresses.js';
import type { CredentialsChange, FileChange, PackageChange, TunnelChange, UnitChange, Upsert } from './types.js';

/**
 * Planning of what lives on the connector host: the cloudflared package, the credentials,
 * the managed files and the unit. Pure. `host` is undefined when the host cannot be read
 * yet (connector about to be created or started): everything there is then "known after apply".
 */
export interface HostPlanInput {
  /** The connector's name (its LXC hostname); every address here is scoped by it. */
  connector: string;
  host: ConnectorState | undefined;
  tunnel: Upsert<TunnelChange>;
  accountId: string;
  source: CloudflaredSource;
  credentialsPath: string;
  /** The digest of the credentials file the existing tunnel's token gives (see CredentialsSlice). */
  expectedCredentials?: { tunnelId: string; sha256: string };
  /** `restarts: false`: a file cloudflared does not read (the watchdog's), deployed without restarting it. */
  files: { path: string; content: string; mode: number; validate: boolean; restarts?: boolean }[];
  unit: string;
  /** A standby replica: files in place, the unit installed but disabled and stopped. */
  standby?: boolean;
}

export interface HostPlan {
  pkg: PackageChange;
  credentials: CredentialsChange;
  files: FileChange[];
  unit: UnitChange;
}

export function planHost(input: HostPlanInput): HostPlan {
  const pkg = planPackage(input.connector, input.host, input.source);
  const credentials = planCredentials(input);
  const files = input.files.map((f) => planFile(input.connector, input.host, f));
  const read = files.filter((_, i) => input.files[i]!.restarts !== false);
  const notRead = files.filter((_, i) => input.files[i]!.restarts === false);
  const unit = planUnit(input, [pkg, credentials, ...read], notRead);
  return { pkg, credentials, files, unit };
}

function planPackage(connector: string, host: ConnectorState | undefined, source: CloudflaredSource): PackageChange {
  const base = {
    kind: 'package' as const,
    address: hostAddress('package', connector, 'cloudflared'),
    connector,
    after: { source: source.type, version: source.version },
    source,
  };
  if (!host) return { ...base, action: 'create', reason: 'connector not reachable yet', before: 'unknown' };
  const installed = host.cloudflaredVersion;
  if (installed === undefined) return { ...base, action: 'create', reason: 'cloudflared is not installed', before: undefined };
  if (source.version && !versionSatisfies(installed, source.version)) {
    return {
      ...base,
      action: 'update',
      reason: `installed ${installed}, inventory pins ${source.version}`,
      before: { version: installed },
    };
  }
  return { ...base, action: 'noop', reason: `cloudflared ${installed} installed`, before: { version: installed } };
}

/** "2026.8.2-standin" satisfies "2026.8.2": a build suffix does not make a different release. */
function versionSatisfies(installed: string, wanted: string): boolean {
  return installed === wanted || installed.startsWith(`${wanted}-`) || installed.startsWith(`${wanted}+`);
}

/** Parse only the TunnelID out of a credentials file; the secret is never looked at. */
export function credentialsTunnelId(content: string): string | undefined {
  try {
    const parsed = JSON.parse(content) as { TunnelID?: unknown };
    return typeof parsed.TunnelID === 'string' ? parsed.TunnelID : undefined;
  } catch {
    return undefined;
  }
}

function planCredentials(input: HostPlanInput): CredentialsChange {
  const { tunnel, host, credentialsPath: path, accountId } = input;
  const tunnelId = tunnel.after.id;
  const base = {
    kind: 'credentials' as const,
    address: hostAddress('file', input.connector, path),
    connector: input.connector,
    path,
    accountId,
    after: { tunnelId },
  };
  if (tunnel.action === 'create') {
    return {
      ...base,
      action: 'create',
      reason: 'written from the new tunnel',
      source: 'new-tunnel',
      before: host ? undefined : 'unknown',
    };
  }
  if (!host) return { ...base, action: 'create', reason: 'recovered from the tunnel token', source: 'token', before: 'unknown' };
  // Read by digest (the state script never sends the secret); a fake or older reader may give content.
  const existing = readCredentials(host, path);
  if (!existing) {
    return {
      ...base,
      action: 'create',
      reason: 'missing on the connector; recovered from the tunnel token',
      source: 'token',
      before: undefined,
    };
  }
  const current = existing.tunnelId;
  if (current !== tunnelId) {
    return {
      ...base,
      action: 'update',
      reason: current ? `belongs to tunnel ${current}; recovered from the tunnel token` : 'unreadable; recovered from the tunnel token',
      source: 'token',
      before: { tunnelId: current ?? 'unreadable' },
    };
  }
  const expected = input.expectedCredentials;
  if (expected && expected.tunnelId === tunnelId && existing.sha256 !== expected.sha256) {
    // Never says how it differs: the difference may be the secret itself.
    return {
      ...base,
      action: 'update',
      reason: 'content differs from what the tunnel token gives (edited by hand?); rewritten from the tunnel token',
      source: 'token',
      before: { tunnelId: current },
    };
  }
  if (existing.mode !== 0o600) {
    return { ...base, action: 'update', reason: `mode ${octal(existing.mode)} → 0600`, source: 'token', before: { tunnelId: current } };
  }
  return { ...base, action: 'noop', reason: 'credentials match the tunnel', source: 'token', before: { tunnelId: current } };
}

/** The credentials file as the host reported it: by digest, or (fakes, import) from its content. */
export function readCredentials(
  host: ConnectorState,
  path: string,
): { tunnelId: string | undefined; sha256: string; mode: number } | undefined {
  const secret = host.secretFiles?.get(path);
  if (secret) return { tunnelId: secret.tunnelId, sha256: secret.sha256, mode: secret.mode };
  const file = host.files.get(path);
  if (!file) return undefined;
  return { tunnelId: credentialsTunnelId(file.content), sha256: sha256Hex(file.content), mode: file.mode };
}

function planFile(
  connector: string,
  host: ConnectorState | undefined,
  file: { path: string; content: string; mode: number; validate: boolean },
): FileChange {
  const base = {
    kind: 'file' as const,
    address: hostAddress('file', connector, file.path),
    connector,
    path: file.path,
    mode: file.mode,
    after: { content: file.content, mode: file.mode },
    validate: file.validate,
  };
  if (!host) return { ...base, action: 'create', reason: 'connector not reachable yet', before: 'unknown' };
  const existing = host.files.get(file.path);
  if (!existing) return { ...base, action: 'create', reason: 'file is missing', before: undefined };
  const before = { content: existing.content, mode: existing.mode };
  if (existing.content !== file.content) {
    return { ...base, action: 'update', reason: 'content differs from the inventory', before };
  }
  if (existing.mode !== file.mode) {
    return { ...base, action: 'update', reason: `mode ${octal(existing.mode)} → ${octal(file.mode)}`, before };
  }
  return { ...base, action: 'noop', reason: 'up to date', before };
}

function planUnit(
  input: HostPlanInput,
  inputsOfService: { action: string; address: string }[],
  otherFiles: { action: string; address: string }[] = [],
): UnitChange {
  const standby = input.standby === true;
  const base = {
    kind: 'unit' as const,
    address: hostAddress('unit', input.connector, input.unit),
    connector: input.connector,
    unit: input.unit,
    after: { enabled: !standby, active: !standby },
  };
  const changed = inputsOfService.filter((c) => c.action !== 'noop').map((c) => c.address);
  const others = otherFiles.filter((c) => c.action !== 'noop').map((c) => c.address);
  if (standby) {
    // Files are deployed (validated, swapped) so a promotion only has to start it.
    if (!input.host)
      return { ...base, action: 'create', reason: 'standby: installed, disabled and stopped', before: 'unknown', restart: false };
    const state = input.host.unit;
    if (state.enabled || state.active) {
      const what = [state.enabled && 'enabled', state.active && 'active'].filter(Boolean).join(', ');
      return { ...base, action: 'update', reason: `standby but ${what}: stop and disable`, before: state, restart: false };
    }
    if (changed.length + others.length > 0)
      return {
        ...base,
        action: 'update',
        reason: `standby: deploy ${[...changed, ...others].join(', ')} (not started)`,
        before: state,
        restart: false,
      };
    return { ...base, action: 'noop', reason: 'standby: disabled and stopped', before: state, restart: false };
  }
  if (!input.host) {
    return { ...base, action: 'create', reason: 'enable and start', before: 'unknown', restart: true };
  }
  const state = input.host.unit;
  if (!state.enabled || !state.active) {
    const what = [!state.enabled && 'not enabled', !state.active && 'not active'].filter(Boolean).join(', ');
    return { ...base, action: 'update', reason: `${what}: enable and (re)start`, before: state, restart: true };
  }
  if (changed.length > 0) {
    return { ...base, action: 'update', reason: `restart: ${changed.join(', ')} changed`, before: state, restart: true };
  }
  if (others.length > 0)
    return { ...base, action: 'update', reason: `deploy ${others.join(', ')} (cloudflared keeps running)`, before: state, restart: false };
  return { ...base, action: 'noop', reason: 'enabled and active', before: state, restart: false };
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
