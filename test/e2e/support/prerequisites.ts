/**
 * Decides, once per test file, whether the e2e tier can run here. Outside CI a missing piece
 * skips the suite with a loud message; in CI (CI=true) it fails instead, because CI installs
 * everything and a silent skip would hide a broken tier.
 */
import { spawnSync } from 'node:child_process';
import { e2ePrerequisites } from '../../../src/sim/lxc/environment.js';

export interface E2eGate {
  /** True when the suite must be skipped. */
  skip: boolean;
  reason: string | undefined;
}

function gate(reason: string | undefined, what: string): E2eGate {
  if (reason === undefined) return { skip: false, reason: undefined };
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`${what} cannot run in CI: ${reason}. .ci/run must install it.`);
  }
  process.stderr.write(`\n!!! SKIPPING ${what}: ${reason}\n\n`);
  return { skip: true, reason };
}

/** Real containers: root, lxc, debootstrap, iproute2, openssh-client, dpkg. */
export async function containerGate(what: string): Promise<E2eGate> {
  const result = await e2ePrerequisites();
  return gate(result.ok ? undefined : result.reason, what);
}

/** The stand-in cloudflared on this machine: python3 with PyYAML. */
export function standinGate(what: string): E2eGate {
  const probe = spawnSync('python3', ['-c', 'import yaml'], { stdio: 'ignore' });
  return gate(probe.status === 0 ? undefined : 'python3 with PyYAML is missing (apt-get install python3-yaml)', what);
}

/** Headless Chromium from Debian's `chromium` package, run inside a fresh network namespace (needs root). */
export function chromiumGate(what: string): E2eGate {
  const chromium = spawnSync('chromium', ['--version'], { stdio: 'ignore' });
  if (chromium.status !== 0) return gate('chromium is missing (apt-get install chromium)', what);
  const netns = spawnSync('unshare', ['-n', 'true'], { stdio: 'ignore' });
  return gate(netns.status === 0 ? undefined : 'unshare -n failed (needs root): Chromium must run without network access', what);
}
