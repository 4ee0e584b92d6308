/**
 * The connector host adapter: the cloudflared LXC over one ssh2 connection per run.
 * Each operation is one POSIX sh script (remote-scripts.ts); in sandbox mode the same
 * scripts run with every managed path under `sandbox.root` and stand-ins first on PATH.
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { ProviderError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import { silentReporter } from '../core/reporter.js';
import type { CloudflaredSource } from '../inventory/types.js';
import type {
  ConnectTarget,
  ConnectorHost,
  ConnectorState,
  DeployRequest,
  DeployResult,
  ProbeResult,
  ProbeTarget,
  Readiness,
  RunningConfig,
  ServedRule,
} from '../ports/connector.js';
import {
  OutputFormatError,
  hasTag,
  hostOutput,
  parseProbeOutput,
  parseStateOutput,
  scriptErrors,
  tagValue,
  taggedLines,
  versionFromOutput,
} from './output-parser.js';
import {
  DEPLOY_EXIT,
  RUN_STDIN_SCRIPT,
  deployScript,
  installAptScript,
  installDebScript,
  lockScript,
  packageVersionScript,
  probeScript,
  readStateScript,
  removeStagingScript,
  readinessScript,
} from './remote-scripts.js';
import type { RemoteEnv } from './remote-scripts.js';
import { removeFilesScript, stopServiceScript } from './teardown-scripts.js';
import type { ExecResult } from './ssh-session.js';
import { SshSession } from './ssh-session.js';

function describeExit(result: ExecResult): string {
  if (result.code === null)
    return result.signal ? `killed by signal ${result.signal}` : 'the connection closed before the command finished';
  return `exit status ${result.code}`;
}

/** Everything the host said about a failure, secrets excluded (scripts never echo payloads). */
function failureDetail(result: ExecResult, summary?: string): string {
  const parts = [summary ?? scriptErrors(result.stdout).join('; ')];
  const out = hostOutput(result.stdout);
  if (out) parts.push(`host output:\n${indent(out)}`);
  const err = result.stderr.trim();
  if (err) parts.push(`stderr:\n${indent(err.split('\n').slice(-30).join('\n'))}`);
  parts.push(`(${describeExit(result)})`);
  return parts.filter((p) => p !== '').join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

/** Who we are, in the lock files, so a waiting run can name us. */
function holderName(): string {
  return `${userInfo().username}@${hostname()} pid ${process.pid}`;
}

/** The `@@holder` lines a busy lock or deploy sent back. */
function holders(stdout: string): string {
  return (
    taggedLines(stdout)
      .filter((l) => l.tag === 'holder')
      .map((l) => l.rest)
      .join(' ') || 'holder unknown'
  );
}

/** Milliseconds since `started`, for -v lines. */
function took(started: number): string {
  return `${Math.round(performance.now() - started)} ms`;
}

export class SshConnectorHost implements ConnectorHost {
  readonly #session: SshSession;
  readonly #env: RemoteEnv;
  readonly #where: string;
  readonly #reporter: Reporter;

  constructor(session: SshSession, env: RemoteEnv, reporter: Reporter = silentReporter) {
    this.#session = session;
    this.#env = env;
    this.#where = session.label;
    this.#reporter = reporter;
  }

  /** -v: each remote command by its label (never the script, which may carry file contents), exit and duration. */
  #log(operation: string, outcome: string, started: number): void {
    this.#reporter.debug(`ssh ${this.#where} ${operation} → ${outcome} (${took(started)})`);
  }

  get roundTrips(): number {
    return this.#session.roundTrips;
  }

  async #run(operation: string, script: string): Promise<ExecResult> {
    const started = performance.now();
    try {
      const result = await this.#session.exec(RUN_STDIN_SCRIPT, script);
      this.#log(operation, describeExit(result), started);
      return result;
    } catch (err) {
      this.#log(operation, 'no answer', started);
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        (err as Error).message,
        'check the SSH connection to the connector and run again',
        {
          cause: err,
        },
      );
    }
  }

  async readState(paths: string[], unit: string, options: { secretPaths?: string[] } = {}): Promise<ConnectorState> {
    const secretPaths = options.secretPaths ?? [];
    const result = await this.#run('read connector state', readStateScript(this.#env, paths, unit, secretPaths));
    try {
      if (result.code !== 0) throw new OutputFormatError(`the state script failed (${describeExit(result)})`);
      return parseStateOutput(result.stdout, paths, secretPaths);
    } catch (err) {
      if (!(err instanceof OutputFormatError)) throw err;
      throw new ProviderError(
        'ssh',
        `read connector state on ${this.#where}`,
        failureDetail(result, err.message),
        'the host must have a POSIX sh, coreutils (base64, stat) and systemd',
        {
          cause: err,
        },
      );
    }
  }

  async probe(targets: ProbeTarget[]): Promise<ProbeResult[]> {
    if (targets.length === 0) return [];
    const result = await this.#run('probe origins', probeScript(this.#env, targets));
    try {
      return parseProbeOutput(result.stdout, targets);
    } catch (err) {
      throw new ProviderError('ssh', `probe origins from ${this.#where}`, failureDetail(result, (err as Error).message), undefined, {
        cause: err,
      });
    }
  }

  async deploy(request: DeployRequest): Promise<DeployResult> {
    const operation = `deploy ${request.files.map((f) => f.path).join(', ') || request.unit}`;
    const result = await this.#run(
      operation,
      deployScript(this.#env, request, `${holderName()}, deploy started ${new Date().toISOString()}`),
    );
    if (result.code === 0 && hasTag(result.stdout, 'done')) {
      const restarted = hasTag(result.stdout, 'restarted');
      return request.readyTimeoutSeconds !== undefined && restarted ? { restarted, ready: parseReadiness(result.stdout) } : { restarted };
    }
    const rolledBack = hasTag(result.stdout, 'rolled-back');
    const oldRunning = hasTag(result.stdout, 'rollback-restarted');
    const oldDown = hasTag(result.stdout, 'rollback-restart-failed');
    let hint: string;
    if (result.code === DEPLOY_EXIT.health) {
      hint = oldRunning
        ? `the previous files were restored and ${request.unit} runs the old configuration again; check that the connector reaches Cloudflare (outbound 7844), then run again`
        : `the previous files were restored but ${request.unit} did not come back: check \`systemctl status ${request.unit}\` on the connector`;
    } else if (result.code === DEPLOY_EXIT.validation) {
      hint = 'nothing was changed on the host; fix the ingress rules in the inventory (the host output above says which) and run again';
    } else if (rolledBack && tagValue(result.stdout, 'result')?.trim() === 'timeout') {
      // Type=notify: the start only completes once cloudflared reached Cloudflare's edge.
      hint =
        `${request.unit} did not report ready within its TimeoutStartSec, which usually means the connector cannot reach ` +
        'Cloudflare (no Internet, DNS, or outbound port 7844/443 blocked); the previous files were restored';
    } else if (rolledBack) {
      hint = oldDown
        ? `the previous files were restored but ${request.unit} did not come back: check \`systemctl status ${request.unit}\` on the connector`
        : `the previous files were restored${oldRunning ? ` and ${request.unit} runs the old configuration again` : ''}; fix the cause above and run again`;
    } else if (result.code === DEPLOY_EXIT.busy) {
      hint = `nothing was changed on the host; the deploy running there (${holders(result.stdout)}) finishes on its own: run again once it has`;
    } else if (result.code === DEPLOY_EXIT.staging) {
      hint = 'nothing was changed on the host (temporary files removed); check disk space and permissions on the connector';
    } else {
      hint = 'the files are either all old or all new (renames are atomic); run sync again to converge';
    }
    const subject = result.code === DEPLOY_EXIT.validation ? request.validateConfig : undefined;
    throw new ProviderError('ssh', `${operation} on ${this.#where}`, failureDetail(result), hint, subject ? { subject } : {});
  }

  async readiness(): Promise<Readiness> {
    const result = await this.#run('read cloudflared /ready', readinessScript(this.#env));
    if (result.code !== 0 || !hasTag(result.stdout, 'done')) {
      throw new ProviderError(
        'ssh',
        `read cloudflared /ready on ${this.#where}`,
        failureDetail(result),
        'the connector needs a POSIX sh and curl or bash',
      );
    }
    return parseReadiness(result.stdout);
  }

  async installCloudflared(source: CloudflaredSource): Promise<string> {
    if (source.type === 'apt') {
      const result = await this.#run('install cloudflared from apt', installAptScript(this.#env, source.version));
      return this.#installedVersion(result, `install cloudflared${source.version ? ` ${source.version}` : ''} from apt`);
    }
    if (source.version !== undefined) {
      const current = await this.#run('read the cloudflared package version', packageVersionScript(this.#env));
      const pkg = taggedLines(current.stdout)
        .find((l) => l.tag === 'pkg-version')
        ?.rest.trim();
      if (current.code === 0 && pkg === source.version) {
        return this.#installedVersion(current, 'read the installed cloudflared version');
      }
    }
    const remote = `${this.#env.root}/tmp/proxflare-cloudflared-${randomBytes(6).toString('hex')}.deb`;
    const started = performance.now();
    try {
      await this.#session.upload(source.path, remote);
      this.#log(`upload ${source.path} to ${remote}`, 'done', started);
    } catch (err) {
      this.#log(`upload ${source.path} to ${remote}`, 'failed', started);
      throw new ProviderError(
        'ssh',
        `upload ${source.path} to ${this.#where}:${remote}`,
        (err as Error).message,
        'check that the .deb exists locally and /tmp on the connector has space',
        {
          cause: err,
        },
      );
    }
    const result = await this.#run('install the uploaded cloudflared .deb', installDebScript(this.#env, remote));
    return this.#installedVersion(result, `install ${source.path}`);
  }

  #installedVersion(result: ExecResult, operation: string): string {
    if (result.code !== 0 || !hasTag(result.stdout, 'done')) {
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        failureDetail(result),
        'the host output above says why; fix it on the connector or choose another connector.cloudflared source',
      );
    }
    let version: string | undefined;
    try {
      version = versionFromOutput(result.stdout);
    } catch (err) {
      throw new ProviderError('ssh', `${operation} on ${this.#where}`, (err as Error).message, undefined, { cause: err });
    }
    if (version === undefined) {
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        'the package installed, but `cloudflared` is not on PATH afterwards',
        'check the package contents (it must ship /usr/bin/cloudflared)',
      );
    }
    return version;
  }

  async lock(name: string, waitMs: number): Promise<() => Promise<void>> {
    const holder = `${holderName()} since ${new Date().toISOString()}`;
    const operation = `take the connector lock '${name}'`;
    let held;
    const started = performance.now();
    try {
      held = await this.#session.hold(lockScript(this.#env, name, waitMs, holder), (out) =>
        /^@@(locked|busy|deploy-busy|error)/m.test(out),
      );
      this.#log(operation, /^@@locked/m.test(held.stdout) ? 'held' : 'not taken', started);
    } catch (err) {
      throw new ProviderError('ssh', `${operation} on ${this.#where}`, (err as Error).message, undefined, { cause: err });
    }
    if (!/^@@locked/m.test(held.stdout)) {
      const result = await held.finish();
      const waited = `waited ${Math.round(waitMs / 100) / 10}s`;
      if (hasTag(result.stdout, 'busy')) {
        throw new ProviderError(
          'ssh',
          `${operation} on ${this.#where}`,
          `another proxflare run holds it: ${holders(result.stdout)} (${waited})`,
          'wait for that run to finish and try again; the lock is released automatically when its SSH connection ends',
        );
      }
      if (hasTag(result.stdout, 'deploy-busy')) {
        throw new ProviderError(
          'ssh',
          `${operation} on ${this.#where}`,
          `a deploy from an earlier run is still finishing on the connector: ${holders(result.stdout)} (${waited})`,
          'it completes (or rolls back) on its own, its run having gone away; run again in a minute',
        );
      }
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        failureDetail(result),
        'the connector needs flock (util-linux) and a writable /run/lock',
      );
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      await held.finish();
    };
  }

  async stopService(unit: string): Promise<void> {
    const operation = `stop ${unit}`;
    const result = await this.#run(operation, stopServiceScript(this.#env, unit));
    if (result.code !== 0 || !hasTag(result.stdout, 'done')) {
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        failureDetail(result),
        `check \`systemctl status ${unit}\` on the connector`,
      );
    }
  }

  async removeStaging(paths: string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const operation = `remove stale staging files ${paths.join(', ')}`;
    const result = await this.#run('remove stale staging files', removeStagingScript(this.#env, paths));
    if (result.code !== 0 || !hasTag(result.stdout, 'done')) {
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        failureDetail(result),
        'remove them by hand on the connector (they may hold the tunnel secret), then run again',
      );
    }
    return taggedLines(result.stdout)
      .filter((l) => l.tag === 'in-use')
      .map((l) => l.rest);
  }

  async removeFiles(paths: string[], options: { reloadUnits: boolean }): Promise<void> {
    const operation = `remove ${paths.join(', ')}`;
    const result = await this.#run(operation, removeFilesScript(this.#env, paths, options.reloadUnits));
    if (result.code !== 0 || !hasTag(result.stdout, 'done')) {
      throw new ProviderError(
        'ssh',
        `${operation} on ${this.#where}`,
        failureDetail(result),
        'the host output above says why; fix it and re-run destroy',
      );
    }
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}

/** `@@ready <code>` and `@@ready-body <json>` (metrics/readiness.go's body) → Readiness. */
export function parseReadiness(stdout: string): Readiness {
  const code = tagValue(stdout, 'ready')?.trim() ?? '';
  const status = /^\d{3}$/.test(code) ? Number(code) : undefined;
  let body: { readyConnections?: unknown; connectorId?: unknown } = {};
  try {
    body = JSON.parse(tagValue(stdout, 'ready-body')?.trim() || '{}') as typeof body;
  } catch {
    // Not cloudflared's JSON (another server on the port): the status alone says it.
  }
  const config = parseRunningConfig(tagValue(stdout, 'config-body'));
  return {
    status,
    readyConnections: typeof body.readyConnections === 'number' ? body.readyConnections : 0,
    connectorId: typeof body.connectorId === 'string' ? body.connectorId : undefined,
    detail: status === undefined ? 'nothing answers on the metrics address' : `HTTP ${status}`,
    ...(config ? { config } : {}),
  };
}

/** `/config`'s JSON (see RunningConfig) → the version and the ingress rules; undefined when it is not that shape. */
export function parseRunningConfig(text: string | undefined): RunningConfig | undefined {
  if (!text?.trim()) return undefined;
  let body: { version?: unknown; config?: { ingress?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return undefined;
  }
  if (typeof body.version !== 'number' || !Array.isArray(body.config?.ingress)) return undefined;
  const ingress: ServedRule[] = [];
  for (const raw of body.config.ingress as { hostname?: unknown; path?: unknown; service?: unknown }[]) {
    ingress.push({
      hostname: typeof raw.hostname === 'string' ? raw.hostname : '',
      path: typeof raw.path === 'string' && raw.path !== '' ? raw.path : null,
      service: typeof raw.service === 'string' ? raw.service : String(raw.service ?? ''),
    });
  }
  return { version: body.version, ingress };
}

export async function connectConnector(target: ConnectTarget, options: { reporter?: Reporter } = {}): Promise<ConnectorHost> {
  const reporter = options.reporter ?? silentReporter;
  const started = performance.now();
  const label = `${target.user}@${target.host}:${target.port}`;
  let session: SshSession;
  try {
    session = await SshSession.open(target);
  } catch (err) {
    reporter.debug(`ssh ${label} connect → failed (${took(started)})`);
    throw err;
  }
  reporter.debug(`ssh ${label} connect → connected (${took(started)})`);
  const env: RemoteEnv = target.sandbox
    ? { root: target.sandbox.root, binDir: target.sandbox.binDir, ...(target.sandbox.metrics ? { metrics: target.sandbox.metrics } : {}) }
    : { root: '' };
  return new SshConnectorHost(session, env, reporter);
}
