import { renderCredentialsFile } from '../cloudflare/tunnel-credentials.js';
import { sha256Hex } from '../core/digest.js';
import { InternalError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectorHost, ConnectTarget } from '../ports/connector.js';
import type { AccessSlice, ActualState, RemoteSlices, ReplicaActual } from '../plan/actual-state.js';
import type { ConnectorSpec } from '../inventory/types.js';
import type { ConnectorState } from '../ports/connector.js';
import type { TunnelCredentials } from '../ports/cloudflare.js';
import type { ConnectorLxcState, ReadStateOptions } from '../ports/proxmox.js';
import { MANAGED_PATHS } from '../plan/actual-state.js';
import { LEFTOVER_PATHS } from '../plan/plan-leftovers.js';
import { WATCHDOG_PATHS } from '../render/watchdog.js';

const WATCHDOG_FILES = { script: WATCHDOG_PATHS.script, service: WATCHDOG_PATHS.service, timer: WATCHDOG_PATHS.timer };
import type { Ports } from './ports.js';

export interface ReadResult {
  actual: ActualState;
  /** The open SSH connection to the first connector, reused by apply; undefined if not reachable yet. */
  host: ConnectorHost | undefined;
  /** Every open connection by connector hostname (the first one included), reused by apply. */
  hosts: Map<string, ConnectorHost>;
  /** The existing tunnel's credentials, when they were recovered to check the file on a connector. */
  credentials?: TunnelCredentials;
}

/** Close every connection a read opened. */
export async function closeRead(read: Pick<ReadResult, 'hosts'>): Promise<void> {
  for (const host of read.hosts.values()) await host.close().catch(() => undefined);
  read.hosts.clear();
}

type SliceReaders = {
  [K in keyof RemoteSlices]-?: (inventory: Inventory, ports: Ports, proxmoxOptions: ReadStateOptions) => Promise<RemoteSlices[K]>;
};

/** One reader per remote slice of the actual state; all run in parallel. */
const SLICE_READERS: SliceReaders = {
  proxmox: (inventory, ports, options) => ports.proxmox.readState(inventory.connector, inventory.guests, options),
  tunnel: (inventory, ports) => ports.cloudflare.findTunnel(inventory.cloudflare.accountId, inventory.tunnel.name),
  zones: (inventory, ports) => Promise.all(inventory.cloudflare.zones.map((z) => ports.cloudflare.listZoneRecords(z))),
  access: readAccess,
};

/** Access is read only when the inventory uses it, so a token without Access permissions keeps working. */
async function readAccess(inventory: Inventory, ports: Ports): Promise<AccessSlice['access']> {
  if (!inventory.access) return undefined;
  if (!ports.access) throw new InternalError('the inventory uses Cloudflare Access but no Access adapter was created');
  return ports.access.readAccess(inventory.cloudflare.accountId);
}

type StartedSlices = { [K in keyof RemoteSlices]-?: Promise<RemoteSlices[K]> };

function startRemoteSlices(inventory: Inventory, ports: Ports, proxmoxOptions: ReadStateOptions): StartedSlices {
  const keys = Object.keys(SLICE_READERS) as (keyof RemoteSlices)[];
  return Object.fromEntries(keys.map((k) => [k, SLICE_READERS[k](inventory, ports, proxmoxOptions)])) as unknown as StartedSlices;
}

async function allSlices(started: StartedSlices): Promise<RemoteSlices> {
  const keys = Object.keys(started) as (keyof RemoteSlices)[];
  const values = await Promise.all(keys.map((k) => started[k]));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as RemoteSlices;
}

/** A promise awaited later, whose failure before then must not go unhandled. */
function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Read the remote slices (Proxmox, Cloudflare) in parallel, and each connector over SSH as soon
 * as Proxmox has found it running (while the guests are still being resolved); so are the
 * Cloudflare reads that need only the tunnel. Any failed or partial read throws: missing data
 * is never taken as "nothing there".
 */
export async function readActual(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<ReadResult> {
  reporter.debug('reading Proxmox and Cloudflare');
  const [first, ...others] = inventory.connectors;
  const hosts = new Map<string, ConnectorHost>();
  const hostReads = new Map<string, Promise<ConnectorState | undefined>>();
  let failed = false;
  const slices = startRemoteSlices(inventory, ports, { onConnector: (lxc) => startHostRead(first!, lxc) });
  // The reads that need only the tunnel run while the guests are still being resolved.
  const { accountId } = inventory.cloudflare;
  const remoteConfig = awaitedLater(
    slices.tunnel.then((t) => (t?.configSrc === 'cloudflare' ? ports.cloudflare.getTunnelConfiguration(accountId, t.id) : undefined)),
  );
  // Recovered only once a connector is connected: they are needed only to check its file.
  let credentials: Promise<TunnelCredentials | undefined> | undefined;
  const onConnected = () => {
    credentials ??= awaitedLater(slices.tunnel.then((t) => (t ? ports.cloudflare.recoverCredentials(accountId, t.id) : undefined)));
  };
  function startHostRead(spec: ConnectorSpec, lxc: ConnectorLxcState | undefined): void {
    if (failed || hostReads.has(spec.hostname)) return;
    hostReads.set(spec.hostname, awaitedLater(readHost(inventory, spec, lxc, ports, reporter, hosts, onConnected)));
  }
  const fail = async (err: unknown): Promise<never> => {
    failed = true;
    await Promise.allSettled(hostReads.values());
    await closeRead({ hosts });
    throw err;
  };
  // The first connector's read also resolves the guests; the other replicas only need their container.
  const [remote, otherStates] = await Promise.all([
    allSlices(slices),
    Promise.all(others.map((spec) => ports.proxmox.readState(spec, [], { onConnector: (lxc) => startHostRead(spec, lxc) }))),
  ]).catch(fail);
  const replicas = new Map<string, ReplicaActual>();
  const specs = [first!, ...others];
  const states = [remote.proxmox, ...otherStates];
  try {
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const proxmox = states[i]!;
      // A busy connector was waited for, so it was not read early: read it now.
      startHostRead(spec, proxmox.connector ?? proxmox.adoptable);
      replicas.set(spec.hostname, { proxmox, host: await hostReads.get(spec.hostname) });
    }
  } catch (err) {
    return fail(err);
  }
  const actual: ActualState = { ...remote, host: replicas.get(first!.hostname)!.host };
  // A remotely-managed tunnel's connectors serve what Cloudflare holds (plan-remote-config.ts).
  const config = await remoteConfig.catch(fail);
  if (config) actual.remoteConfig = config;
  if (others.length > 0) actual.replicas = replicas;
  // A changed TunnelSecret must not read as "up to date": the file is checked against the token's.
  const expected = await credentials?.catch(fail);
  if (!expected) return { actual, host: hosts.get(first!.hostname), hosts };
  actual.expectedCredentials = { tunnelId: expected.tunnelId, sha256: sha256Hex(renderCredentialsFile(expected).reveal()) };
  return { actual, host: hosts.get(first!.hostname), hosts, credentials: expected };
}

async function readHost(
  inventory: Inventory,
  spec: ConnectorSpec,
  // A container --adopt=lxc may take over is read like ours (readers only; nothing is touched).
  lxc: ConnectorLxcState | undefined,
  ports: Ports,
  reporter: Reporter,
  hosts: Map<string, ConnectorHost>,
  onConnected: () => void,
): Promise<ConnectorState | undefined> {
  if (!lxc || lxc.status !== 'running') return undefined;
  const address = spec.ssh.host ?? lxc.ip;
  if (!address) {
    reporter.warn(`lxc/${spec.hostname} runs but has no IPv4 address yet; its files are read after apply`);
    return undefined;
  }
  const host = await ports.connect(connectTarget(inventory, address));
  hosts.set(spec.hostname, host);
  onConnected();
  // The credentials carry the tunnel secret: read by digest only.
  return host.readState(
    [MANAGED_PATHS.config, MANAGED_PATHS.unitFile, ...Object.values(WATCHDOG_FILES), ...LEFTOVER_PATHS],
    MANAGED_PATHS.unit,
    {
      secretPaths: [MANAGED_PATHS.credentials],
    },
  );
}

export function connectTarget(inventory: Inventory, address: string): ConnectTarget {
  const ssh = inventory.connector.ssh;
  return {
    host: address,
    port: ssh.port,
    user: ssh.user,
    privateKey: ssh.privateKey,
    knownHosts: ssh.knownHosts,
    trustOnFirstUse: ssh.trustOnFirstUse,
    ...(ssh.jump ? { jump: ssh.jump } : {}),
  };
}
