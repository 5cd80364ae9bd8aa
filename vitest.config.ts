import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The server bundle `npm start` runs, built once; tests start the local server from it.
    globalSetup: ['test/support/build-server.ts'],
    // Many tests spawn servers and CLI processes; with several files at once on 2 cores a
    // healthy test can pass 30 s, so 60 s separates slow from hung.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // expect.poll waits on other processes (servers, receivers, browsers); its 1 s default is
    // shorter than a process start on a loaded 2-core machine.
    expect: { poll: { timeout: 15_000 } },
    // Real-client e2e suites share dockerd/podman state; keep files in separate forks.
    pool: 'forks',
    // Most files wait on child processes (servers, emulators, real clients) rather than the CPU,
    // so more files than cores run at once; vitest's default on a 2-core CI machine is one.
    maxWorkers: 3,
  },
});
