import { validateIngressConfig } from '../../src/ingress/validate-ingress.js';
import type { CloudflaredSource } from '../../src/inventory/types.js';
import type {
  ConnectConnector,
  ConnectorHost,
  ConnectorState,
  DeployRequest,
  DeployResult,
  ProbeResult,
  ProbeTarget,
  Readiness,
  RemoteFileState,
  SecretFileState,
} from '../../src/ports/connector.js';
import { sha256Hex } from '../../src/core/digest.js';
import { credentialsTunnelId } from '../../src/plan/plan-host.js';

/**
 * An in-process connector host: files in a Map, a unit with enabled/active and a restart
 * counter, an action log. `deploy` keeps the old files when validation fails, like the
 * real adapter must.
 */
export class InMemoryConnector implements ConnectorHost {
  readonly actions: string[] = [];
  readonly files = new Map<string, RemoteFileState>();
  /** Stale staging files (paths) a killed deploy left. */
  readonly staging = new Set<string>();
  version: string | undefined;
  unit = { enabled: false, active: false };
  restarts = 0;
  roundTrips = 0;
  connects = 0;
  readonly failures = new Map<string, Error>();
  /** Shared with the other fakes, so a test can assert the order of effects across systems. */
  effects: string[] = [];
  /** Another sync holds the connector lock (`lock` then fails, as flock -w would after its wait). */
  heldElsewhere = false;
  /** Config validation used by deploy; defaults to the offline `cloudflared tunnel ingress validate`. */
  validate: (config: string) => string | undefined = (c) => {
    const verdict = validateIngressConfig(c);
    return verdict.ok ? undefined : verdict.output;
  };
  private locked = false;

  failOnce(method: string, error: Error = new Error(`injected failure in ${method}`)): void {
    this.failures.set(method, error);
  }

  private hit(action: string, method: string): void {
    this.actions.push(action);
    this.effects.push(`connector ${action}`);
    this.roundTrips++;
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }

  readonly connect: ConnectConnector = async () => {
    this.connects++;
    this.actions.push('connect');
    this.effects.push('connector connect');
    return this;
  };

  async readState(paths: string[], _unit?: string, options: { secretPaths?: string[] } = {}): Promise<ConnectorState> {
    this.hit('readState', 'readState');
    const files = new Map<string, RemoteFileState>();
    for (const p of paths) {
      const f = this.files.get(p);
      if (f) files.set(p, { ...f });
    }
    // Like the state script: a secret file by digest and TunnelID only.
    const secretFiles = new Map<string, SecretFileState>();
    for (const p of options.secretPaths ?? []) {
      const f = this.files.get(p);
      if (f) secretFiles.set(p, { sha256: sha256Hex(f.content), mode: f.mode, owner: f.owner, tunnelId: credentialsTunnelId(f.content) });
    }
    return { cloudflaredVersion: this.version, files, secretFiles, staging: [...this.staging].sort(), unit: { ...this.unit } };
  }

  async removeStaging(paths: string[]): Promise<string[]> {
    this.hit(`remove staging ${paths.join(',')}`, 'removeStaging');
    for (const p of paths) this.staging.delete(p);
    return [];
  }

  async probe(targets: ProbeTarget[]): Promise<ProbeResult[]> {
    this.hit('probe', 'probe');
    return targets.map((t) => ({ url: t.url, ok: true, detail: '200' }));
  }

  async installCloudflared(source: CloudflaredSource): Promise<string> {
    this.hit(`install ${source.type}`, 'installCloudflared');
    this.version = source.version ?? '2026.8.2';
    return this.version;
  }

  async deploy(request: DeployRequest): Promise<DeployResult> {
    this.hit(`deploy ${request.files.map((f) => f.path).join(',')}${request.restart ? ' restart' : ''}`, 'deploy');
    if (request.validateConfig) {
      const config =
        request.files.find((f) => f.path === request.validateConfig)?.content ?? this.files.get(request.validateConfig)?.content;
      const problem = config === undefined ? 'no config' : this.validate(config);
      if (problem) throw new Error(`validation failed on the connector: ${problem}`);
    }
    for (const f of request.files) this.files.set(f.path, { content: f.content, mode: f.mode, owner: 'root' });
    let restarted = false;
    if (request.restart) {
      this.unit = { enabled: true, active: true };
      this.restarts++;
      restarted = true;
    }
    return request.readyTimeoutSeconds !== undefined && restarted ? { restarted, ready: await this.readiness() } : { restarted };
  }

  /** Ready while active; names no connector id (the fake Cloudflare invents ids per read). */
  async readiness(): Promise<Readiness> {
    return this.unit.active
      ? { status: 200, readyConnections: 4, connectorId: undefined, detail: 'HTTP 200' }
      : { status: undefined, readyConnections: 0, connectorId: undefined, detail: 'nothing answers on the metrics address' };
  }

  async lock(): Promise<() => Promise<void>> {
    this.hit('lock', 'lock');
    if (this.locked || this.heldElsewhere) throw new Error('another proxflare run holds it');
    this.locked = true;
    return async () => {
      this.locked = false;
      this.effects.push('connector unlock');
    };
  }

  /** Whether this apply holds the lock right now. */
  get lockHeld(): boolean {
    return this.locked;
  }

  async stopService(unit: string): Promise<void> {
    this.hit(`stop ${unit}`, 'stopService');
    this.unit = { enabled: false, active: false };
  }

  async removeFiles(paths: string[]): Promise<void> {
    this.hit(`remove ${paths.join(',')}`, 'removeFiles');
    for (const p of paths) this.files.delete(p);
  }

  async close(): Promise<void> {
    this.actions.push('close');
    this.effects.push('connector close');
  }
}
