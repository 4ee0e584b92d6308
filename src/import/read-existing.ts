import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../core/errors.js';
import type { Reporter } from '../core/reporter.js';
import type { Inventory } from '../inventory/types.js';
import type { DnsRecord, RemoteIngressRule, RemoteTunnelConfig, TunnelState } from '../ports/cloudflare.js';
import type { ConnectorLxcState, GuestSummary } from '../ports/proxmox.js';
import { tunnelTarget } from '../plan/plan-dns.js';
import type { Ports } from '../sync/ports.js';
import { connectTarget } from '../sync/read-actual.js';
import type { CloudflaredInvocation } from './connector-setup.js';
import { CONFIG_SEARCH, UNIT_CANDIDATES, configPathFor, execStartOf, parseExecStart, tokenTunnelId } from './connector-setup.js';

/** What runs on the connector today, as read over SSH (never a secret's value). */
export interface ExistingConnector {
  address: string;
  cloudflaredVersion: string | undefined;
  unit: { path: string; active: boolean; enabled: boolean } | undefined;
  invocation: CloudflaredInvocation | undefined;
  /** Where its config.yml was found (explicit --config or cloudflared's search list). */
  configPath: string | undefined;
  /** `cloudflared service install` also installs a daily self-update; proxflare pins versions. */
  updateTimer: boolean;
  /** The token-installed layout: the tunnel id read from the token file (the secret is not kept). */
  tokenTunnelId: string | undefined;
}

/** One of several connector hosts of the tunnel, as read: its cloudflared and the LXC at its address. */
export interface ExistingReplica {
  connector: ExistingConnector;
  lxc: ConnectorLxcState | undefined;
  /** Its config.yml serves another ingress than the first replica's (whose ingress is imported). */
  configDiffers?: boolean;
}

type LocalConfig = { ingress: RemoteIngressRule[]; originRequest?: Record<string, unknown> };

export interface ExistingSetup {
  tunnel: TunnelState;
  /** Where the ingress below came from. */
  ingressSource: 'cloudflare' | 'config.yml';
  ingress: RemoteIngressRule[];
  /** Tunnel-wide originRequest defaults. */
  originRequest?: Record<string, unknown>;
  connector: ExistingConnector | undefined;
  /** CNAMEs of the configured zones that point at the tunnel. */
  records: DnsRecord[];
  guests: GuestSummary[];
  /** The Proxmox LXC at the connector's address, read in full (its settings go into the inventory). */
  connectorLxc: ConnectorLxcState | undefined;
  /** Every connector read, in the order given, when there were two or more (the first is also `connector`). */
  replicas?: ExistingReplica[];
}

/**
 * Read an existing setup with readers only: the tunnel (and, for a remotely-managed one, its
 * ingress from the `configurations` endpoint), the connector's unit and config over SSH, the
 * zones' CNAMEs pointing at the tunnel, and every Proxmox guest with its address.
 */
export async function readExisting(
  base: Inventory,
  ports: Ports,
  tunnelName: string,
  /** The connector hosts to read, in order; none: connector.ssh.host of `base`, if set. */
  connectorAddresses: string[],
  reporter: Reporter,
): Promise<ExistingSetup> {
  const accountId = base.cloudflare.accountId;
  const tunnel = await ports.cloudflare.findTunnel(accountId, tunnelName);
  if (!tunnel)
    throw new UserError(
      `no tunnel named "${tunnelName}" in Cloudflare account ${accountId}; check --tunnel (the dashboard lists them under Networks → Tunnels)`,
    );
  const [remote, zones, guests] = await Promise.all([
    ports.cloudflare.getTunnelConfiguration(accountId, tunnel.id),
    Promise.all(base.cloudflare.zones.map((z) => ports.cloudflare.listZoneRecords(z))),
    ports.proxmox.listGuests(),
  ]);
  const target = tunnelTarget(tunnel.id);
  const records = zones.flatMap((z) => z.records.filter((r) => r.type === 'CNAME' && r.content.toLowerCase() === target));

  const addresses = connectorAddresses.length > 0 ? connectorAddresses : base.connector.ssh.host ? [base.connector.ssh.host] : [];
  if (addresses.length === 0) reporter.warn('no --connector given: the connector host is not read; the ingress comes from Cloudflare only');
  const read: { connector: ExistingConnector; config: LocalConfig | undefined; lxc: ConnectorLxcState | undefined }[] = [];
  for (const address of addresses) {
    reporter.step('import', `reading the connector at ${address}`);
    const { connector, config } = await readConnector(base, ports, address);
    read.push({ connector, config, lxc: await readConnectorLxc(base, ports, guests, address) });
  }
  const first = read[0];
  const localConfig = first?.config;

  // A token-run or remotely-managed tunnel is served what Cloudflare holds; local ingress is then ignored.
  const useRemote = tunnel.configSrc === 'cloudflare' || remote?.source === 'cloudflare' || !localConfig;
  if (useRemote && !remote)
    throw new UserError(
      `tunnel ${tunnelName} has no configuration on Cloudflare and no config.yml was found on the connector; there is nothing to import`,
    );
  const ingress = useRemote ? remote! : localConfig!;
  return {
    tunnel,
    ingressSource: useRemote ? 'cloudflare' : 'config.yml',
    ingress: ingress.ingress,
    ...(ingress.originRequest ? { originRequest: ingress.originRequest } : {}),
    connector: first?.connector,
    records,
    guests,
    connectorLxc: first?.lxc,
    ...(read.length > 1
      ? {
          replicas: read.map((r) => ({
            connector: r.connector,
            lxc: r.lxc,
            // Only the first replica's config.yml is imported; say so when another serves something else.
            ...(!useRemote && !isDeepStrictEqual(r.config, localConfig) ? { configDiffers: true } : {}),
          })),
        }
      : {}),
  };
}

/** The Proxmox LXC listed at the connector's address, read in full; undefined when no LXC has it. */
async function readConnectorLxc(
  base: Inventory,
  ports: Ports,
  guests: GuestSummary[],
  address: string,
): Promise<ConnectorLxcState | undefined> {
  const guest = guests.find((g) => g.type === 'lxc' && g.ip === address);
  if (!guest) return undefined;
  const state = await ports.proxmox.readState({ ...base.connector, hostname: guest.name, node: guest.node, vmid: guest.vmid }, []);
  return state.connector ?? state.adoptable;
}

async function readConnector(
  base: Inventory,
  ports: Ports,
  address: string,
): Promise<{
  connector: ExistingConnector;
  config: LocalConfig | undefined;
}> {
  const host = await ports.connect(connectTarget(base, address));
  try {
    const units = await host.readState([...UNIT_CANDIDATES, '/etc/systemd/system/cloudflared-update.timer'], 'cloudflared.service');
    const unitPath = UNIT_CANDIDATES.find((p) => units.files.has(p));
    const execStart = unitPath ? execStartOf(units.files.get(unitPath)!.content) : undefined;
    const invocation = execStart ? parseExecStart(execStart) : undefined;
    // The files the unit names, and cloudflared's search list (one round trip).
    const wanted = [
      ...new Set([
        ...(invocation?.configPath ? [invocation.configPath] : []),
        ...(invocation?.tokenFile ? [invocation.tokenFile] : []),
        ...CONFIG_SEARCH,
      ]),
    ].filter((p) => p.startsWith('/'));
    const files = await host.readState(wanted, 'cloudflared.service');
    const configPath = invocation ? configPathFor(invocation, (p) => files.files.has(p)) : CONFIG_SEARCH.find((p) => files.files.has(p));
    const token = invocation?.tokenFile ? files.files.get(invocation.tokenFile)?.content : undefined;
    const connector: ExistingConnector = {
      address,
      cloudflaredVersion: units.cloudflaredVersion,
      unit: unitPath ? { path: unitPath, ...units.unit } : undefined,
      invocation,
      configPath,
      updateTimer: units.files.has('/etc/systemd/system/cloudflared-update.timer'),
      tokenTunnelId: token ? tokenTunnelId(token) : undefined,
    };
    const text = configPath ? files.files.get(configPath)?.content : undefined;
    return { connector, config: text !== undefined ? parseLocalConfig(text) : undefined };
  } finally {
    await host.close();
  }
}

function parseLocalConfig(text: string): LocalConfig | undefined {
  const doc = parseYaml(text) as { ingress?: RemoteIngressRule[]; originRequest?: Record<string, unknown> } | null;
  if (!doc || !Array.isArray(doc.ingress)) return undefined;
  return { ingress: doc.ingress, ...(doc.originRequest ? { originRequest: doc.originRequest } : {}) };
}
