#!/usr/bin/env node
// The `nimbus` admin CLI. The CLI is TypeScript; tsx (a dependency) compiles it on load,
// so this works on a fresh clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
