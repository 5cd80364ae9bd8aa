import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Stage } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { bundleEntry, repoRoot } from './bundle-entry';

/** The file the web function runtime starts, relative to its package. */
export const WEB_FUNCTION_ENTRY_FILE = 'index.mjs';

/**
 * The directory the upload endpoint's web function is packaged from: the upload server's
 * web-function entry (functions/upload-server/web-function.ts) bundled by the esbuild in
 * node_modules into index.mjs with its source map, in the cloud assembly's own directory.
 * Stacks synthesized without bundling (template tests) get a placeholder package instead.
 */
export function webFunctionCodeDirectory(scope: Construct): string {
  if (!Stack.of(scope).bundlingRequired) return join(repoRoot, 'infra/web-function-placeholder');
  const dir = join(Stage.of(scope)?.outdir ?? '.', 'web-function-build', scope.node.addr);
  mkdirSync(dir, { recursive: true });
  // Built for the runtime it deploys on (WebFunctionRuntime.NODEJS_24_X), as the functions are for nodejs22.x.
  bundleEntry('functions/upload-server/web-function.ts', join(dir, WEB_FUNCTION_ENTRY_FILE), 'node24');
  return dir;
}
