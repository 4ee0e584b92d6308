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
  // Operations on one CT run one after another: a destroy that arrives while the create task is
  // still unpacking must wait for it, or it would find nothing to remove and leak the container.
  const queues = new Map<number, Promise<unknown>>();
  const serial = <T>(vmid: number, operation: () => Promise<T>): Promise<T> => {
    const previous = queues.get(vmid) ?? Promise.resolve();
    const next = previous.then(operation, operation);
    queues.set(
      vmid,
      next.catch(() => undefined),
    );
    return next;
  };

  const existing = (vmid: number, action: string): Container => {
    const container = byVmid.get(vmid);
    if (!container) throw new SimLxcError(`cannot ${action} CT ${vmid}: no real container was created for it`);
    return container;
  };

  return {
    container: (vmid) => byVmid.get(vmid),

    create: (request: SimLxcCreate) =>
      serial(request.vmid, async () => {
        if (byVmid.has(request.vmid)) {
          throw new SimLxcError(`CT ${request.vmid} already has a real container (${byVmid.get(request.vmid)?.name})`);
        }
        const container = await environment.createContainer({
          hostname: request.hostname,
          authorizedKeys: request.sshPublicKeys,
          id: String(request.vmid),
        });
        byVmid.set(request.vmid, container);
      }),

    start: (vmid) =>
      serial(vmid, async () => {
        const container = existing(vmid, 'start');
        try {
          await bootContainer(container, options.bootTimeoutMs);
        } catch (error) {
          // A failed start leaves the CT stopped, as on Proxmox, not half-booted.
          await stopContainer(container, 5).catch(() => undefined);
          throw error;
        }
        return { ipv4: container.ipv4 };
      }),

    stop: (vmid) => serial(vmid, () => stopContainer(existing(vmid, 'stop'))),

    destroy: (vmid) =>
      serial(vmid, async () => {
        const container = byVmid.get(vmid);
        if (!container) return;
        await environment.destroyContainer(container);
        byVmid.delete(vmid);
      }),
  };
}
