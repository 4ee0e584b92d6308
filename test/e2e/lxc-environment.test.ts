/**
 * The container infrastructure itself: mirror discovery (pure), and, as root with lxc, that a
 * crashed run's containers and bridge are found and removed by cleanupStale.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isRunning } from '../../src/sim/lxc/container.js';
import { cleanupStale, createE2eEnvironment, namesFor, type E2eEnvironment } from '../../src/sim/lxc/environment.js';
import { createRealLxcBackend } from '../../src/sim/lxc/lxc-backend.js';
import { createBridge, linkExists } from '../../src/sim/lxc/network.js';
import { findDebianMirror, rootfsTarballName } from '../../src/sim/lxc/rootfs.js';
import { containerGate } from './support/prerequisites.js';
import { generateKeyPair } from './support/ssh.js';

describe('Debian mirror discovery', () => {
  it('reads the main archive from deb822 sources, ignoring -security and third-party repositories', () => {
    const text = [
      'Types: deb',
      '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      '',
      'Types: deb',
      'URIs: http://deb.debian.org/debian-security',
      'Suites: bookworm-security',
      'Types: deb',
      'URIs: https://deb.nodesource.com/node_20.x',
    ].join('\n');
    expect(findDebianMirror(text)).toBe('http://deb.debian.org/debian');
  });

  it('reads one-line sources.list entries, with options, and a local mirror', () => {
    const text = [
      '# deb http://commented.example/debian bookworm main',
      'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.lan/debian/ bookworm main',
    ].join('\n');
    expect(findDebianMirror(text)).toBe('http://mirror.lan/debian');
  });

  it('finds nothing when no Debian archive is configured (caller falls back to deb.debian.org)', () => {
    expect(findDebianMirror('deb http://archive.ubuntu.com/ubuntu noble main')).toBeUndefined();
  });

  it('names the cache after what is inside, so a changed package list rebuilds it', () => {
    expect(rootfsTarballName()).toMatch(/^debian-bookworm-systemd-[0-9a-f]{10}\.tar\.gz$/);
  });

  it('refuses tags that would make interface names too long or unsafe', () => {
    expect(namesFor('a1')).toEqual({ prefix: 'pf-a1', bridge: 'pfbr-a1', veth: 'pfa1_' });
    expect(() => namesFor('toolong')).toThrow(/1-6 lowercase/);
    expect(() => namesFor('a;b')).toThrow(/1-6 lowercase/);
  });
});

const gate = await containerGate('e2e: container environment cleanup');

describe.skipIf(gate.skip)('leftovers of a crashed run', () => {
  const tag = 'stale';
  let crashed: E2eEnvironment | undefined;

  afterAll(async () => {
    // Whatever happened above, nothing with this tag may survive the file.
    await cleanupStale({ tag });
  }, 120_000);

  it(
    'are removed by cleanupStale: running container, its directory, veth and bridge',
    async () => {
      crashed = await createE2eEnvironment({ tag, subnet: '10.231.3' });
      const container = await crashed.startContainer({ hostname: 'leftover', authorizedKeys: generateKeyPair().publicKey });
      expect(await isRunning(container)).toBe(true);
      expect(await linkExists(crashed.bridge.name)).toBe(true);
      expect(await linkExists(`${namesFor(tag).veth}1`)).toBe(true);

      // Simulate a run that died before its afterAll: nobody calls crashed.cleanup().
      const removed = await cleanupStale({ tag });
      expect(removed).toContain(`container ${container.name}`);
      expect(removed).toContain(`link ${crashed.bridge.name}`);
      expect(await isRunning(container)).toBe(false);
      expect(existsSync(join(container.lxcPath, container.name))).toBe(false);
      expect(await linkExists(crashed.bridge.name)).toBe(false);
      expect(await linkExists(`${namesFor(tag).veth}1`)).toBe(false);
      // The base rootfs other containers overlay is never touched by cleanup.
      expect(existsSync(join(crashed.baseRootfs, 'sbin', 'init'))).toBe(true);
    },
    20 * 60_000,
  ); // on a clean machine this is where debootstrap runs

  it('a bridge name or subnet already in use is refused with the command to fix it', async () => {
    const first = await createBridge({ name: 'pfbr-stale', subnet: '10.231.3' });
    try {
      await expect(createBridge({ name: 'pfbr-stale', subnet: '10.231.4' })).rejects.toThrow(/ip link del pfbr-stale/);
      await expect(createBridge({ name: 'pfbr-stale2', subnet: '10.231.3' })).rejects.toThrow(/already routed/);
    } finally {
      await first.remove();
    }
    expect(await linkExists('pfbr-stale')).toBe(false);
  });
});

describe.skipIf(gate.skip)("real LXC backend under the simulator's task timing", () => {
  let environment: E2eEnvironment | undefined;

  afterAll(async () => {
    await environment?.cleanup();
  }, 120_000);

  it(
    'a destroy that arrives while create is still unpacking waits for it and removes the container',
    async () => {
      environment = await createE2eEnvironment({ tag: 'race', subnet: '10.231.8' });
      const backend = createRealLxcBackend({ environment });
      const request = {
        node: 'pve',
        vmid: 777,
        hostname: 'racer',
        sshPublicKeys: generateKeyPair().publicKey,
        net0: 'name=eth0,bridge=vmbr0,ip=dhcp',
        memory: 512,
        cores: 1,
      };
      const created = backend.create(request);
      const destroyed = backend.destroy(777);
      await Promise.all([created, destroyed]);
      expect(backend.container(777)).toBeUndefined();
      expect(existsSync(join(environment.lxcPath, 'pf-race-777'))).toBe(false);
      // The vmid is free again: a new create works.
      await backend.create(request);
      expect(backend.container(777)?.name).toBe('pf-race-777');
      await expect(backend.create(request)).rejects.toThrow(/CT 777 already has a real container \(pf-race-777\)/);
    },
    20 * 60_000,
  );
});

describe.skipIf(gate.skip)('two runs with the same tag', () => {
  it(
    'the second waits for the first to clean up instead of removing its containers',
    async () => {
      const first = await createE2eEnvironment({ tag: 'lock', subnet: '10.231.9' });
      let second: E2eEnvironment | undefined;
      try {
        const pending = createE2eEnvironment({ tag: 'lock', subnet: '10.231.9' }).then((env) => (second = env));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(second).toBeUndefined();
        expect(await linkExists(first.bridge.name)).toBe(true);
        await first.cleanup();
        await pending;
        expect(second?.bridge.name).toBe('pfbr-lock');
        expect(await linkExists('pfbr-lock')).toBe(true);
        // Cleaning up the first run again is a no-op: it must not take the second run's bridge.
        await first.cleanup();
        expect(await linkExists('pfbr-lock')).toBe(true);
      } finally {
        await first.cleanup();
        await second?.cleanup();
      }
      expect(await linkExists('pfbr-lock')).toBe(false);
    },
    20 * 60_000,
  );
});
