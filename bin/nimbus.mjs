#!/usr/bin/env node
// The `nimbus` admin CLI. The CLI is TypeScript; tsx (a dependency) compiles it on load,
// so this works on a fresh clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

// `npx nimbus --help | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

register();
await import('../cli/main.ts');
