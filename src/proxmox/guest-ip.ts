import { ProviderError } from '../core/errors.js';
import type { GuestSpec } from '../inventory/types.js';
import type { GuestIp } from '../ports/proxmox.js';
import type { PveApiClient } from './api-client.js';
import { parsePropertyString } from '../core/pve-config.js';

/** One guest row of GET /cluster/resources?type=vm (README-pve §4.1); numbers may arrive as strings. */
export interface ResourceRow {
  id: string;
  vmid: number;
  node: string;
  type: 'lxc' | 'qemu' | string;
  status: string;
  name?: string;
  tags?: string;
  lock?: string;
}

interface LxcInterface {
  name?: string;
  inet?: string;
  'ip-addresses'?: { 'ip-address'?: string; 'ip-address-type'?: string }[];
}

interface AgentInterface {
  name?: string;
  'ip-addresses'?: { 'ip-address'?: string; 'ip-address-type'?: string }[];
}

/** First IPv4 of the named interface, or of the first interface that is not `lo`. */
export function pickLxcAddress(list: LxcInterface[] | null | undefined, name?: string): string | undefined {
  for (const i of list ?? []) {
    if (name ? i.name !== name : i.name === 'lo') continue;
    const fromList = i['ip-addresses']?.find((a) => a['ip-address-type'] === 'inet' && a['ip-address'])?.['ip-address'];
    const ip = fromList ?? i.inet?.split('/')[0];
    if (ip) return ip;
  }
  return undefined;
}

/** The agent reports `ipv4`/`ipv6` with a separate prefix, wrapped in `result` (README-pve §9.9). */
export function pickAgentAddress(list: AgentInterface[] | undefined, name?: string): string | undefined {
  for (const i of list ?? []) {
    if (name ? i.name !== name : i.name === 'lo') continue;
    const ip = i['ip-addresses']?.find((a) => a['ip-address-type'] === 'ipv4' && a['ip-address'])?.['ip-address'];
    if (ip) return ip;
  }
  return undefined;
}

function staticIp(value: unknown): string | undefined {
  const ip = typeof value === 'string' ? parsePropertyString(value).ip : undefined;
  return ip && ip !== 'dhcp' && ip !== 'manual' ? ip.split('/')[0] : undefined;
}

/** ip= of the net[n] whose name= matches (or net0), from an LXC config. */
export function lxcConfigAddress(config: Record<string, unknown>, name?: string): string | undefined {
  const nets = Object.keys(config)
    .filter((k) => /^net\d+$/.test(k))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  for (const k of nets) {
    const parsed = parsePropertyString(String(config[k]));
    if (name && parsed.name !== name) continue;
    const ip = staticIp(config[k]);
    if (ip) return ip;
  }
  return undefined;
}

/** Cloud-init ipconfig0 (ip=<cidr>|dhcp,gw=..) of a VM config. */
export function vmConfigAddress(config: Record<string, unknown>): string | undefined {
  const keys = Object.keys(config)
    .filter((k) => /^ipconfig\d+$/.test(k))
    .sort((a, b) => Number(a.slice(8)) - Number(b.slice(8)));
  for (const k of keys) {
    const ip = staticIp(config[k]);
    if (ip) return ip;
  }
  return undefined;
}

/**
 * Agent answers that concern this VM only (qemu-server src/PVE/QemuServer/Agent.pm assert_agent_available;
 * a wedged agent: `VM <vmid> qga command 'guest-network-get-interfaces' failed - got timeout`,
 * src/PVE/QMPClient.pm; an agent-side failure: `Agent error: <desc>`, Agent.pm check_agent_error).
 */
const AGENT_ERRORS =
  /No QEMU guest agent configured|QEMU guest agent is not running|is not running|qga command '[^']*' failed|Agent error:/;

/** PVE's own words about the agent, without our request prefix. */
function agentText(detail: string): string {
  return (/(VM \d+ qga command '[^']*' failed - [^\n.]*|Agent error: [^\n]*)/.exec(detail)?.[1] ?? detail).trim();
}

function describe(guest: GuestSpec, row: ResourceRow): string {
  return `guest "${guest.name}" (${row.type === 'qemu' ? 'VM' : 'CT'} ${row.vmid} on ${row.node})`;
}

/**
 * Where the origin address of one guest comes from. Failures that concern this guest only
 * (stopped, no agent, no address) come back as `{ok:false}` naming the guest and the fix;
 * failures of the API itself (auth, offline node, transport) are thrown.
 */
export async function resolveGuestIp(client: PveApiClient, guest: GuestSpec, row: ResourceRow | undefined): Promise<GuestIp> {
  try {
    return await discover(client, guest, row);
  } catch (e) {
    // A 500 while reading one guest (its config, its interfaces) is that guest's problem; auth,
    // offline nodes (59x) and transport failures stay errors of the whole read.
    if (e instanceof ProviderError && e.status === 500 && row)
      return { ok: false, error: `${describe(guest, row)}: ${e.detail.trim()}; or set ${guest.field}.ip in the inventory` };
    throw e;
  }
}

async function discover(client: PveApiClient, guest: GuestSpec, row: ResourceRow | undefined): Promise<GuestIp> {
  if (guest.ip) return { ok: true, ip: guest.ip, source: 'inventory' };
  const setIp = `or set ${guest.field}.ip in the inventory`;
  if (!row)
    return {
      ok: false,
      error: `guest "${guest.name}" (vmid ${guest.vmid}) is not listed by /cluster/resources: check ${guest.field}.vmid, or grant the token VM.Audit on /vms/${guest.vmid} (guests without it are hidden), ${setIp}`,
    };
  const expected = guest.type === 'vm' ? 'qemu' : 'lxc';
  if (row.type !== expected)
    return {
      ok: false,
      error: `${describe(guest, row)} is ${row.type === 'qemu' ? 'a VM' : 'a container'}, but the inventory says type: ${guest.type}; fix ${guest.field}.type`,
    };
  const who = describe(guest, row);
  const node = row.node;
  const vmid = row.vmid;
  if (row.status === 'stopped')
    return {
      ok: false,
      error: `${who} is stopped, so its address cannot be discovered: start it (${row.type === 'qemu' ? 'qm' : 'pct'} start ${vmid}) ${setIp}`,
    };

  if (row.type === 'lxc') {
    let ifaces: LxcInterface[] | null = null;
    try {
      ifaces = await client.call(
        `read interfaces of ${guest.name}`,
        'GET',
        (api) => api.nodes.$(node).lxc.$(vmid).interfaces.$get() as Promise<LxcInterface[] | null>,
      );
    } catch (e) {
      // PVE < 8.1 has no /interfaces (501); the static net config is the only source left.
      if (!(e instanceof ProviderError && e.status === 501)) throw e;
    }
    const fromIfaces = pickLxcAddress(ifaces, guest.interface);
    if (fromIfaces) return { ok: true, ip: fromIfaces, source: 'interfaces' };
    const config = (await client.call(`read config of ${guest.name}`, 'GET', (api) =>
      api.nodes.$(node).lxc.$(vmid).config.$get(),
    )) as Record<string, unknown>;
    const fromConfig = lxcConfigAddress(config, guest.interface);
    if (fromConfig) return { ok: true, ip: fromConfig, source: 'config' };
    const which = guest.interface ? `interface ${guest.interface}` : 'any interface';
    if (ifaces === null && row.status !== 'running')
      return { ok: false, error: `${who} is not running (status ${row.status}): start it ${setIp}` };
    return {
      ok: false,
      error: `${who} reports no IPv4 address on ${which} and its network config has no static ip= (DHCP without a lease?): check the container's network, ${setIp}`,
    };
  }

  let agentProblem: string;
  try {
    const answer = (await client.call(`ask the guest agent of ${guest.name}`, 'GET', (api) =>
      api.nodes.$(node).qemu.$(vmid).agent['network-get-interfaces'].$get(),
    )) as { result?: AgentInterface[] };
    const ip = pickAgentAddress(answer?.result, guest.interface);
    if (ip) return { ok: true, ip, source: 'agent' };
    agentProblem = `the guest agent reports no IPv4 address on ${guest.interface ? `interface ${guest.interface}` : 'any interface'}`;
  } catch (e) {
    if (!(e instanceof ProviderError)) throw e;
    if (e.status === 500 && AGENT_ERRORS.test(e.detail)) {
      agentProblem = /No QEMU guest agent configured/.test(e.detail)
        ? `no QEMU guest agent is configured: install qemu-guest-agent in the VM and enable it (qm set ${vmid} --agent enabled=1, then restart the VM)`
        : /guest agent is not running/.test(e.detail)
          ? `the QEMU guest agent is not running: start it inside the VM (systemctl enable --now qemu-guest-agent)`
          : /qga command '[^']*' failed - got timeout/.test(e.detail)
            ? `the QEMU guest agent did not answer in time (${agentText(e.detail)}): restart it inside the VM (systemctl restart qemu-guest-agent) or restart the VM (qm reboot ${vmid})`
            : /qga command|Agent error:/.test(e.detail)
              ? `the QEMU guest agent failed (${agentText(e.detail)}): check qemu-guest-agent inside the VM`
              : `the VM is not running: start it (qm start ${vmid})`;
    } else if (e.status === 403) {
      agentProblem = e.detail;
    } else throw e;
  }
  const config = (await client.call(`read config of ${guest.name}`, 'GET', (api) =>
    api.nodes.$(node).qemu.$(vmid).config.$get(),
  )) as Record<string, unknown>;
  const fromConfig = vmConfigAddress(config);
  if (fromConfig) return { ok: true, ip: fromConfig, source: 'config' };
  return { ok: false, error: `${who}: ${agentProblem}, and there is no static cloud-init ipconfig0; ${setIp}` };
}
