import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Bundles one entry of this repository into one ESM file with its source map, by the esbuild
 * in node_modules (no Docker, no network), for a Node process that is not a Lambda handler:
 * the upload endpoint's container and its web function.
 */
export function bundleEntry(entry: string, outfile: string, target: string): void {
  buildSync({
    entryPoints: [join(repoRoot, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    target,
    format: 'esm',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // ESM bundles have no `require`; some CommonJS dependencies still call it.
    banner: { js: 'import{createRequire as __nimbusCreateRequire}from"node:module";const require=__nimbusCreateRequire(import.meta.url);' },
    logLevel: 'error',
  });
}
