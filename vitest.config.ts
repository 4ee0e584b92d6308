import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Integration tests start real servers (sshd, simulators); keep the 2-core machine responsive.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2 } },
  },
});
