/**
 * The connector host port: the cloudflared LXC, reached over SSH.
 * Adapter: src/connector/ (over `ssh2`, one connection per run). Fake: test/fakes/in-memory-connector.ts.
 */

import type { CloudflaredSource } from '../inventory/types.js';

export interface RemoteFileState {
  content: string;
  /** e.g. 0o600 */
  mode: number;
  owner: string;
}

/**
 * A file whose content is a secret (the tunnel credentials): the host reports its digest and
 * the tunnel id in it, never the content, so the secret does not cross the wire on a read.
 */
export interface SecretFileState {
  /** sha256 of the whole file, hex. */
  sha256: string;
  mode: number;
  owner: string;
  /** The `TunnelID` field, when the file has one. */
  tunnelId: string | undefined;
}

export interface ConnectorState {
  /** `cloudflared --version` parsed (e.g. "2026.8.2"), or undefined when not installed. */
  cloudflaredVersion: string | undefined;
  /** Managed files that exist, by absolute path. */
  files: Map<string, RemoteFileState>;
  /** Secret files asked for with `secretPaths` that exist, by absolute path. */
  secretFiles?: Map<string, SecretFileState>;
  /**
   * Staging files of ours left beside a managed file (`.<name>.proxflare-tmp.<pid>`, written by a
   * deploy that was killed before it could remove them), by absolute path. Never their content.
   */
  staging?: string[];
  unit: { enabled: boolean; active: boolean };
  /** The host's clock (`date +%s`) when the state was read: `doctor` compares it with the local one. */
  clock?: number;
  /**
   * systemd's version (`systemctl --version`, e.g. 252 on Debian 12, 257 on Debian 13): the unit
   * uses RestartSteps=/RestartMaxDelaySec= only from 254, where systemd knows them.
   */
  systemdVersion?: number;
}

export interface ManagedFile {
  path: string;
  content: string;
  mode: number;
  /** Never printed: credentials. */
  sensitive?: boolean;
}

export interface DeployRequest {
  files: ManagedFile[];
  unit: string;
  /** Config to validate with `cloudflared tunnel --config <new> ingress validate` before swapping. */
  validateConfig?: string;
  /** Restart (or start) the unit after the swap. */
  restart: boolean;
  /** Whether a unit file changed (daemon-reload needed). */
  reloadUnits: boolean;
  /** Other units to `enable --now` after the swap (the watchdog timer); a failure rolls back like the unit's. */
  enable?: string[];
  /**
   * After the restart, wait up to this many seconds for the metrics server's `/ready` to answer
   * 200; otherwise restore the previous files, restart the old config and fail (rolling apply).
   */
  readyTimeoutSeconds?: number;
}

export interface DeployResult {
  restarted: boolean;
  /** The `/ready` answer that passed the health gate (with `readyTimeoutSeconds`). */
  ready?: Readiness;
}

/**
 * cloudflared's metrics server `/ready` (metrics/readiness.go): 200 with
 * `{"status":200,"readyConnections":N,"connectorId":"<uuid>"}` once it holds an edge
 * connection, 503 with 0 connections otherwise. `status` is undefined when nothing answered.
 */
export interface Readiness {
  status: number | undefined;
  readyConnections: number;
  connectorId: string | undefined;
  /** What was seen, for messages ("HTTP 503", "connection refused"). */
  detail: string;
  /** The metrics server's `/config`, read right after `/ready`; undefined when it did not answer 200 with JSON. */
  config?: RunningConfig;
}

/**
 * cloudflared's `/config` (metrics/metrics.go → Orchestrator.GetVersionedConfigJSON in
 * orchestration/orchestrator.go, at d1df798): `{"version": N, "config": {"ingress": [Rule...],
 * "warp-routing": ..., "originRequest": ...}}`, the rules it routes by right now. `version` is
 * the remote-config version: it starts at -1 and only a configuration pushed by Cloudflare
 * raises it, so a locally-managed tunnel always shows -1; whether a replica serves the current
 * config is told by comparing its ingress with the rendered one, not by the version.
 */
export interface RunningConfig {
  version: number;
  ingress: ServedRule[];
}

/** One rule as ingress.Rule marshals it: path is the regexp source or null, service its String(). */
export interface ServedRule {
  hostname: string;
  path: string | null;
  service: string;
}

/** Where the metrics server listens: pinned in config.yml (templates/config.yml.hbs). */
export const METRICS_ADDRESS = '127.0.0.1:20241';

export interface ProbeTarget {
  /** e.g. http://10.0.0.5:8096, tcp://10.0.0.5:22 */
  url: string;
}

export interface ProbeResult {
  url: string;
  ok: boolean;
  detail: string;
}

export interface ConnectorReader {
  /**
   * One round trip: cloudflared version, the managed files, unit enabled/active, and the stale
   * staging files beside every path asked for. `secretPaths` are reported by digest only.
   */
  readState(paths: string[], unit: string, options?: { secretPaths?: string[] }): Promise<ConnectorState>;
  /** Check each origin from the connector (HTTP HEAD/GET or TCP connect). */
  probe(targets: ProbeTarget[]): Promise<ProbeResult[]>;
  /** cloudflared's `/ready`, read on the connector (the metrics server is bound to its loopback). */
  readiness(): Promise<Readiness>;
}

export interface ConnectorWriter {
  /** Install or upgrade cloudflared from apt or an uploaded .deb; returns the installed version. */
  installCloudflared(source: CloudflaredSource): Promise<string>;
  /**
   * Write files atomically (tmp in same dir, fsync, rename, previous kept as .bak),
   * validate, daemon-reload, enable, restart. On validation or restart failure,
   * restore the previous files, restart the old config and throw with the host's output.
   */
  deploy(request: DeployRequest): Promise<DeployResult>;
  /** Take an exclusive lock on the host (flock); the returned function releases it. */
  lock(name: string, waitMs: number): Promise<() => Promise<void>>;
  /** `systemctl stop` (graceful: cloudflared drains for its grace period) then `disable`. Idempotent. */
  stopService(unit: string): Promise<void>;
  /**
   * Remove stale staging files (only names of ours: `.<name>.proxflare-tmp.<pid>`); never reads
   * them. Idempotent. Returns the ones left because their deploy (the pid) still runs.
   */
  removeStaging(paths: string[]): Promise<string[]>;
  /** Remove files (and their `.proxflare.bak` copies); daemon-reload when a unit file was among them. Idempotent. */
  removeFiles(paths: string[], options: { reloadUnits: boolean }): Promise<void>;
}

export interface ConnectorHost extends ConnectorReader, ConnectorWriter {
  /** Commands run and bytes moved, for the benchmark. */
  readonly roundTrips: number;
  close(): Promise<void>;
}

export interface ConnectTarget {
  host: string;
  port: number;
  user: string;
  /** Path of the private key file, or the key text itself (starts with -----BEGIN). */
  privateKey: string;
  /** Path of the known_hosts-style file used for host key pinning (also for the jump host). */
  knownHosts: string;
  trustOnFirstUse: boolean;
  jump?: { host: string; port: number; user: string };
  /**
   * Run against a sandbox directory instead of the real filesystem (tests, demo):
   * every managed path is prefixed with `root`, and `binDir` (stand-ins for systemctl,
   * dpkg, cloudflared) is put first on PATH. Production leaves it unset.
   */
  sandbox?: { root: string; binDir: string; metrics?: string };
}

export type ConnectConnector = (target: ConnectTarget) => Promise<ConnectorHost>;
