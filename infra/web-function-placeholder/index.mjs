/* global console, process */
// Stands in for the upload endpoint's web function bundle in stacks synthesized without
// bundling (template tests); real synths bundle functions/upload-server/web-function.ts
// (infra/constructs/web-function-code.ts).
console.error('placeholder web function: synthesize with bundling');
process.exit(1);
