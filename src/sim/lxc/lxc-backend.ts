/**
 * The Proxmox simulator's LXC backend for the e2e tier: `POST /nodes/{node}/lxc` unpacks a real
 * Debian container, `status/start` boots it with systemd and reports its real address, so
 * `proxflare sync` configures a real host. Addresses come from the test bridge, whatever net0
 * asks for: the inventory's homelab addresses do not exist on the test machine.
 */
import type { SimLxcBackend, SimLxcCreate } from '../proxmox/lxc-backend.js';
import { bootContainer, stopContainer, type Container } from './container.js';
import type { E2eEnvironment } from './environment.js';
import { SimLxcError } from './run.js';

export interface RealLxcBackendOptions {
  environment: E2eEnvironment;
  /** How long start waits for systemd and sshd. */
  bootTimeoutMs?: number;
}

export interface RealLxcBackend extends SimLxcBackend {
  /** The container behind a vmid (for assertions and known_hosts pinning). */
  container(vmid: number): Container | undefined;
}

export function createRealLxcBackend(options: RealLxcBackendOptions): RealLxcBackend {
  const { environment } = options;
  const byVmid = new Map<number, Container>();

  const existing = (vmid: number, action: string): Container => {
    const container = byVmid.get(vmid);
    if (!container) throw new SimLxcError(`cannot ${action} CT ${vmid}: no real container was created for it`);
    return container;
  };

  return {
    container: (vmid) => byVmid.get(vmid),

    async create(request: SimLxcCreate) {
      if (byVmid.has(request.vmid)) {
        throw new SimLxcError(`CT ${request.vmid} already has a real container (${byVmid.get(request.vmid)?.name})`);
      }
      const container = await environment.createContainer({
        hostname: request.hostname,
        authorizedKeys: request.sshPublicKeys,
        id: String(request.vmid),
      });
      byVmid.set(request.vmid, container);
    },

    async start(vmid) {
      const container = existing(vmid, 'start');
      await bootContainer(container, options.bootTimeoutMs);
      return { ipv4: container.ipv4 };
    },

    async stop(vmid) {
      await stopContainer(existing(vmid, 'stop'));
    },

    async destroy(vmid) {
      const container = byVmid.get(vmid);
      if (!container) return;
      await environment.destroyContainer(container);
      byVmid.delete(vmid);
    },
  };
}
