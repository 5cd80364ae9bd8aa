import { join } from 'node:path';
import { buildSync, type Metafile } from 'esbuild';
import { DEPLOYED_BUNDLE, repoRoot } from './bundle-entry';

/** The file the Lambda runtime loads (handler `index.handler`), relative to the package. */
export const LAMBDA_ENTRY_FILE = 'index.mjs';

/**
 * Bundles one Lambda entry of this repository into `outdir` with the esbuild in node_modules
 * (no Docker, no network): ESM for nodejs22.x, minified, external source maps, nothing
 * external (the AWS SDK this repository pins, not the runtime's). Code splitting is on, so
 * what the entry reaches only through `await import()` (clients and views a request may
 * never need, the SDK's own lazy credential providers) lands in chunks of its own under
 * chunks/, loaded on first use instead of during the cold start.
 */
export function bundleLambda(entry: string, outdir: string): Metafile {
  const result = buildSync({
    ...DEPLOYED_BUNDLE,
    absWorkingDir: repoRoot,
    entryPoints: { index: join(repoRoot, entry) },
    outdir,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    target: 'node22',
    metafile: true,
  });
  return result.metafile;
}

/** Bytes of JavaScript the runtime loads: the entry and every chunk it imports statically, transitively. */
export function loadedAtStart(metafile: Metafile, entryOutput: string): string[] {
  const seen = new Set<string>();
  const visit = (output: string) => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const imported of metafile.outputs[output]?.imports ?? []) {
      if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
    }
  };
  visit(entryOutput);
  return [...seen];
}
