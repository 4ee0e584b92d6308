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

async function readRemoteSlices(inventory: Inventory, ports: Ports, proxmoxOptions: ReadStateOptions): Promise<RemoteSlices> {
  const keys = Object.keys(SLICE_READERS) as (keyof RemoteSlices)[];
  const values = await Promise.all(keys.map((k) => SLICE_READERS[k](inventory, ports, proxmoxOptions)));
  return Object.fromEntries(keys.map((k, i) => [k, values[i]])) as unknown as RemoteSlices;
}

/**
 * Read the remote slices (Proxmox, Cloudflare) in parallel, and each connector over SSH as soon
 * as Proxmox has found it running (while the guests are still being resolved). Any failed or
 * partial read throws: missing data is never taken as "nothing there".
 */
export async function readActual(inventory: Inventory, ports: Ports, reporter: Reporter): Promise<ReadResult> {
  reporter.debug('reading Proxmox and Cloudflare');
  const [first, ...others] = inventory.connectors;
  const hosts = new Map<string, ConnectorHost>();
  const hostReads = new Map<string, Promise<ConnectorState | undefined>>();
  let failed = false;
  const startHostRead = (spec: ConnectorSpec, lxc: ConnectorLxcState | undefined) => {
    if (failed || hostReads.has(spec.hostname)) return;
    const read = readHost(inventory, spec, lxc, ports, reporter, hosts);
    read.catch(() => undefined); // awaited below; a failure before then must not go unhandled
    hostReads.set(spec.hostname, read);
  };
  const fail = async (err: unknown): Promise<never> => {
    failed = true;
    await Promise.allSettled(hostReads.values());
    await closeRead({ hosts });
    throw err;
  };
  const earlyHost = (spec: ConnectorSpec): ReadStateOptions => ({ onConnector: (lxc) => startHostRead(spec, lxc) });

  // The first connector's read also resolves the guests; the other replicas only need their container.
  const [remote, otherStates] = await Promise.all([
    readRemoteSlices(inventory, ports, earlyHost(first!)),
    Promise.all(others.map((spec) => ports.proxmox.readState(spec, [], earlyHost(spec)))),
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
  if (remote.tunnel?.configSrc === 'cloudflare') {
    actual.remoteConfig = await ports.cloudflare.getTunnelConfiguration(inventory.cloudflare.accountId, remote.tunnel.id).catch(fail);
  }
  if (others.length > 0) actual.replicas = replicas;
  const credentials = await expectedCredentials(inventory, remote, hosts, ports).catch(fail);
  if (!credentials) return { actual, host: hosts.get(first!.hostname), hosts };
  actual.expectedCredentials = { tunnelId: credentials.tunnelId, sha256: sha256Hex(renderCredentialsFile(credentials).reveal()) };
  return { actual, host: hosts.get(first!.hostname), hosts, credentials };
}

/**
 * The credentials the existing tunnel's token gives, recovered only when a connector was read
 * (its file is then compared by digest, so a changed TunnelSecret is not "up to date").
 */
async function expectedCredentials(
  inventory: Inventory,
  remote: RemoteSlices,
  hosts: Map<string, ConnectorHost>,
  ports: Ports,
): Promise<TunnelCredentials | undefined> {
  if (!remote.tunnel || hosts.size === 0) return undefined;
  return ports.cloudflare.recoverCredentials(inventory.cloudflare.accountId, remote.tunnel.id);
}

async function readHost(
  inventory: Inventory,
  spec: ConnectorSpec,
  // A container --adopt=lxc may take over is read like ours (readers only; nothing is touched).
  lxc: ConnectorLxcState | undefined,
  ports: Ports,
  reporter: Reporter,
  hosts: Map<string, ConnectorHost>,
): Promise<ConnectorState | undefined> {
  if (!lxc || lxc.status !== 'running') return undefined;
  const address = spec.ssh.host ?? lxc.ip;
  if (!address) {
    reporter.warn(`lxc/${spec.hostname} runs but has no IPv4 address yet; its files are read after apply`);
    return undefined;
  }
  const host = await ports.connect(connectTarget(inventory, address));
  hosts.set(spec.hostname, host);
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
