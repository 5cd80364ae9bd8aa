import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Many tests spawn servers and CLI processes; with several files at once on 2 cores a
    // healthy test can pass 30 s, so 60 s separates slow from hung.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real-client e2e suites share dockerd/podman state; keep files in separate forks.
    pool: 'forks',
    // Most files wait on child processes (servers, emulators, real clients) rather than the CPU,
    // so more files than cores run at once; vitest's default on a 2-core CI machine is one.
    maxWorkers: 3,
  },
});
