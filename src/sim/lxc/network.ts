/**
 * The test bridge the e2e containers live on. It has an address on the host and nothing else:
 * no NAT and no gateway handed to the containers, so they can reach only the host and each other.
 */
import { run, SimLxcError } from './run.js';

export interface TestBridge {
  name: string;
  /** First three octets of the /24, e.g. "10.231.0". */
  subnet: string;
  /** The host's address on the bridge, e.g. "10.231.0.1". */
  hostAddress: string;
  /** Hands out .10, .11, ... in order. */
  allocateAddress(): string;
  remove(): Promise<void>;
}

export interface BridgeOptions {
  /** Interface name, at most 15 characters. */
  name?: string;
  subnet?: string;
}

export const DEFAULT_BRIDGE = 'pfbr0';
export const DEFAULT_SUBNET = '10.231.0';

export function checkInterfaceName(name: string): void {
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    throw new SimLxcError(`"${name}" is not a valid network interface name (1-15 letters, digits, . _ -)`);
  }
}

export async function linkExists(name: string): Promise<boolean> {
  const result = await run('ip', ['link', 'show', 'dev', name], { allowFailure: true });
  return result.code === 0;
}

export async function createBridge(options: BridgeOptions = {}): Promise<TestBridge> {
  const name = options.name ?? DEFAULT_BRIDGE;
  const subnet = options.subnet ?? DEFAULT_SUBNET;
  checkInterfaceName(name);
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(subnet) || subnet.split('.').some((o) => Number(o) > 255)) {
    throw new SimLxcError(`test subnet "${subnet}" must be three octets, e.g. ${DEFAULT_SUBNET}`);
  }
  if (await linkExists(name)) {
    throw new SimLxcError(
      `network interface ${name} already exists; another e2e run may be active, or an earlier one crashed ` +
        `(remove it with: ip link del ${name})`,
    );
  }
  const routes = await run('ip', ['-4', 'route', 'show', `${subnet}.0/24`]);
  if (routes.stdout.trim() !== '') {
    throw new SimLxcError(`${subnet}.0/24 is already routed on this machine (${routes.stdout.trim()}); choose another test subnet`);
  }
  const hostAddress = `${subnet}.1`;
  await run('ip', ['link', 'add', name, 'type', 'bridge']);
  try {
    await run('ip', ['addr', 'add', `${hostAddress}/24`, 'dev', name]);
    await run('ip', ['link', 'set', name, 'up']);
  } catch (error) {
    await run('ip', ['link', 'del', name], { allowFailure: true });
    throw error;
  }
  let next = 10;
  return {
    name,
    subnet,
    hostAddress,
    allocateAddress() {
      if (next > 250) throw new SimLxcError(`no free address left on test bridge ${name}`);
      return `${subnet}.${next++}`;
    },
    async remove() {
      await run('ip', ['link', 'del', name], { allowFailure: true });
    },
  };
}
