import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** What every deployed bundle shares (this file's and lambda-bundle.ts's): minified ESM, external maps. */
export const DEPLOYED_BUNDLE: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  // ESM bundles have no `require`; some CommonJS dependencies still call it.
  banner: { js: 'import{createRequire as __nimbusCreateRequire}from"node:module";const require=__nimbusCreateRequire(import.meta.url);' },
  logLevel: 'error',
};

/**
 * Bundles one entry of this repository into one ESM file with its source map, by the esbuild
 * in node_modules (no Docker, no network), for a Node process that is not a Lambda handler:
 * the upload endpoint's container and its web function.
 */
export function bundleEntry(entry: string, outfile: string, target: string): void {
  buildSync({ ...DEPLOYED_BUNDLE, entryPoints: [join(repoRoot, entry)], outfile, target });
}
