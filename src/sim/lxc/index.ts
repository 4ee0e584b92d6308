/**
 * Real Debian containers for the e2e tier and `proxflare demo --real-lxc`.
 * Typical use:
 *   const env = await createE2eEnvironment({ tag: 'sync', subnet: '10.231.6' });
 *   const backend = createRealLxcBackend({ environment: env });
 *   const sim = await startProxmoxSim({ seed, backend });
 *   ... finally: await env.cleanup();
 */
export { createE2eEnvironment, cleanupStale, e2ePrerequisites, namesFor } from './environment.js';
export type { E2eEnvironment, E2eEnvironmentOptions, NewContainer, Prerequisites } from './environment.js';
export { createRealLxcBackend } from './lxc-backend.js';
export type { RealLxcBackend, RealLxcBackendOptions } from './lxc-backend.js';
export {
  bootContainer,
  createContainer,
  destroyContainer,
  execInContainer,
  isRunning,
  startContainer,
  stopContainer,
  DEFAULT_LXC_PATH,
} from './container.js';
export type { Container, ContainerSpec, ExecOptions } from './container.js';
export { createBridge, linkExists, DEFAULT_BRIDGE, DEFAULT_SUBNET } from './network.js';
export type { TestBridge, BridgeOptions } from './network.js';
export { ensureRootfs, ensureBaseRootfs, debianMirror, cacheDirectory, DEFAULT_CACHE_DIR } from './rootfs.js';
export { SimLxcError } from './run.js';
