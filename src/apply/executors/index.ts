import type { Executors } from './executor.js';
import { accessAppExecutor, accessPolicyExecutor, serviceTokenExecutor } from './access.js';
import { connectionsExecutor } from './connections.js';
import { credentialsExecutor } from './credentials.js';
import { dnsExecutor } from './dns.js';
import { fileExecutor } from './file.js';
import { leftoverExecutor } from './leftover.js';
import { lxcExecutor } from './lxc.js';
import { packageExecutor } from './package.js';
import { stagingFileExecutor } from './staging-file.js';
import { tunnelExecutor } from './tunnel.js';
import { tunnelConfigExecutor } from './tunnel-config.js';
import { unitExecutor } from './unit.js';

/** The executor of each change kind; `applyPlan` hands every apply-order row to its kind's. */
export const EXECUTORS: Executors = {
  lxc: lxcExecutor,
  tunnel: tunnelExecutor,
  package: packageExecutor,
  credentials: credentialsExecutor,
  file: fileExecutor,
  'staging-file': stagingFileExecutor,
  unit: unitExecutor,
  leftover: leftoverExecutor,
  'tunnel-config': tunnelConfigExecutor,
  dns: dnsExecutor,
  'service-token': serviceTokenExecutor,
  'access-policy': accessPolicyExecutor,
  'access-app': accessAppExecutor,
  connections: connectionsExecutor,
};
