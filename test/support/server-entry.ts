import { inject } from 'vitest';

/**
 * node's arguments for the local server, as `npm start` runs it (package.json): the bundle
 * built once for this test run (build-server.ts), with the same V8 flag.
 */
export function serverEntry(): string[] {
  return ['--max-semi-space-size=64', inject('nimbusServerBundle')];
}
