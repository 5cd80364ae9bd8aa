// `npm run build`: the local server (functions/local/main.ts) as one ES module,
// dist/nimbus-server.mjs, with every dependency inside: it runs with `node` alone, no
// node_modules and no tsx. `node dist/nimbus-server.mjs`. `npm start` builds it first and
// runs it: no TypeScript compiler in the server process, which halves its idle memory.
import { build } from 'esbuild';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Tests build elsewhere: `node tools/build/server.mjs /tmp/x/nimbus-server.mjs`.
const outfile = resolve(process.argv[2] ?? join(root, 'dist/nimbus-server.mjs'));

// Built beside the target, then renamed into place file by file: a server starting from the
// same directory (two `npm start`s at once) never imports a half-written bundle.
await mkdir(dirname(outfile), { recursive: true });
const staging = await mkdtemp(join(dirname(outfile), '.build-'));
try {
  await build({
    absWorkingDir: root,
    entryPoints: ['functions/local/main.ts'],
    outfile: join(staging, basename(outfile)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
    // Bundled CommonJS dependencies call require() for node's built-ins; ES modules have none.
    banner: { js: "import { createRequire as nimbusCreateRequire } from 'node:module'; const require = nimbusCreateRequire(import.meta.url);" },
  });
  // The module last: whoever sees it sees its map and licences too.
  const files = (await readdir(staging)).sort((a, b) => Number(a === basename(outfile)) - Number(b === basename(outfile)));
  for (const file of files) await rename(join(staging, file), join(dirname(outfile), file));
} finally {
  await rm(staging, { recursive: true, force: true });
}
// stderr: `npm start`'s stdout is the server's log.
console.error(`built ${outfile}`);
