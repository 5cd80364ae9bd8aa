import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** dist/nimbus-server.mjs as `npm start` builds it, built once for the run (server-entry.ts). */
    nimbusServerBundle: string;
  }
}

/**
 * Global setup: builds the server bundle `npm start` runs (tools/build/server.mjs) once, into a
 * temporary directory, so every test that starts the local server runs what users run.
 */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-test-server-'));
  const bundle = join(dir, 'nimbus-server.mjs');
  execFileSync(process.execPath, [join(import.meta.dirname, '../../tools/build/server.mjs'), bundle], { stdio: ['ignore', 'ignore', 'inherit'] });
  project.provide('nimbusServerBundle', bundle);
  return () => rmSync(dir, { recursive: true, force: true });
}
