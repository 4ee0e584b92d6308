import type { ConnectorSpec, GuestSpec } from '../../src/inventory/types.js';
import type {
  ConnectorLxcState,
  GuestIp,
  GuestSummary,
  LxcConfigPatch,
  LxcCreateSpec,
  LxcRef,
  Proxmox,
  ProxmoxState,
} from '../../src/ports/proxmox.js';

/**
 * An in-process Proxmox for orchestration tests: holds state, logs every call in
 * `actions`, and can be told to fail a method once. The real adapter is tested
 * against the HTTP simulator; this fake only has to keep the port's promises.
 */
export class InMemoryProxmox implements Proxmox {
  readonly actions: string[] = [];
  connector: ConnectorLxcState | undefined;
  foreignConnectors: LxcRef[] = [];
  templatePresent = true;
  nodeAddresses = ['192.0.2.1'];
  /** Address a started connector gets. */
  connectorIp = '192.0.2.50';
  guestIps = new Map<string, GuestIp>();
  readonly failures = new Map<string, Error>();
  /** Shared with the other fakes, so a test can assert the order of effects across systems. */
  effects: string[] = [];
  private nextVmid = 105;
  private digestCounter = 0;

  failOnce(method: keyof ProxmoxFakeMethods, error: Error = new Error(`injected failure in ${method}`)): void {
    this.failures.set(method, error);
  }

  private hit(method: string): void {
    this.actions.push(method);
    this.effects.push(`proxmox ${method}`);
    const failure = this.failures.get(method);
    if (failure) {
      this.failures.delete(method);
      throw failure;
    }
  }

  async readState(_connector: ConnectorSpec, guests: GuestSpec[]): Promise<ProxmoxState> {
    this.hit('readState');
    const guestIps = new Map<string, GuestIp>();
    for (const g of guests) {
      if (g.ip) guestIps.set(g.name, { ok: true, ip: g.ip, source: 'inventory' });
      else guestIps.set(g.name, this.guestIps.get(g.name) ?? { ok: false, error: `guest "${g.name}" (vmid ${g.vmid}) not found` });
    }
    return {
      connector: this.connector ? structuredClone(this.connector) : undefined,
      foreignConnectors: [...this.foreignConnectors],
      templatePresent: this.templatePresent,
      guestIps,
      nodeAddresses: [...this.nodeAddresses],
    };
  }

  async listConnectors(): Promise<LxcRef[]> {
    this.hit('listConnectors');
    return this.connector ? [{ node: this.connector.node, vmid: this.connector.vmid }] : [];
  }

  async listGuests(): Promise<GuestSummary[]> {
    this.hit('listGuests');
    return [...this.guestIps.entries()].flatMap(([name, ip], i) =>
      ip.ok ? [{ node: 'pve', vmid: 300 + i, name, type: 'lxc' as const, status: 'running', tags: [], ip: ip.ip }] : [],
    );
  }

  async ensureTemplate(): Promise<void> {
    this.hit('ensureTemplate');
    this.templatePresent = true;
  }

  async createLxc(spec: LxcCreateSpec): Promise<LxcRef> {
    this.hit('createLxc');
    const c = spec.connector;
    const vmid = c.vmid ?? this.nextVmid++;
    const net = c.network;
    this.connector = {
      node: c.node,
      vmid,
      status: 'stopped',
      config: {
        hostname: c.hostname,
        memory: c.memory,
        swap: c.swap,
        cores: c.cores,
        onboot: c.onboot,
        net0: `name=eth0,bridge=${net.bridge},ip=${net.ip}${'gw' in net && net.gw ? `,gw=${net.gw}` : ''}${net.vlan ? `,tag=${net.vlan}` : ''},type=veth`,
        rootfs: `${c.storage}:vm-${vmid}-disk-0,size=${c.disk}G`,
        unprivileged: true,
        tags: [c.tag],
        digest: this.newDigest(),
      },
    };
    return { node: c.node, vmid };
  }

  async startLxc(ref: LxcRef): Promise<void> {
    this.hit('startLxc');
    const lxc = this.require(ref);
    lxc.status = 'running';
    lxc.ip = this.connectorIp;
  }

  async waitForIp(ref: LxcRef): Promise<string> {
    this.hit('waitForIp');
    const ip = this.require(ref).ip;
    if (!ip) throw new Error('no IPv4');
    return ip;
  }

  async updateLxc(ref: LxcRef, patch: LxcConfigPatch, digest: string): Promise<void> {
    this.hit('updateLxc');
    const lxc = this.require(ref);
    if (lxc.config.digest !== digest) throw new Error('config digest mismatch');
    Object.assign(lxc.config, patch, { digest: this.newDigest() });
  }

  async stopLxc(ref: LxcRef): Promise<void> {
    this.hit('stopLxc');
    const lxc = this.require(ref);
    lxc.status = 'stopped';
    delete lxc.ip;
  }

  async destroyLxc(ref: LxcRef): Promise<void> {
    this.hit('destroyLxc');
    if (!this.connector || this.connector.vmid !== ref.vmid) return;
    if (this.connector.status === 'running') throw new Error(`unable to destroy CT ${ref.vmid} - container is running`);
    this.connector = undefined;
  }

  async close(): Promise<void> {}

  private require(ref: LxcRef): ConnectorLxcState {
    if (!this.connector || this.connector.vmid !== ref.vmid) throw new Error(`CT ${ref.vmid} does not exist`);
    return this.connector;
  }

  private newDigest(): string {
    return `digest-${++this.digestCounter}`;
  }
}

type ProxmoxFakeMethods = Pick<
  Proxmox,
  'readState' | 'ensureTemplate' | 'createLxc' | 'startLxc' | 'waitForIp' | 'updateLxc' | 'stopLxc' | 'destroyLxc'
>;
