// `npm run build`: the local server (functions/local/main.ts, what `npm start` runs) as one
// ES module, dist/nimbus-server.mjs, with every dependency inside: it runs with `node` alone,
// no node_modules and no tsx. `node --max-semi-space-size=64 dist/nimbus-server.mjs`.
import { build } from 'esbuild';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Tests build elsewhere: `node tools/build/server.mjs /tmp/x/nimbus-server.mjs`.
const outfile = resolve(process.argv[2] ?? join(root, 'dist/nimbus-server.mjs'));

await build({
  absWorkingDir: root,
  entryPoints: ['functions/local/main.ts'],
  outfile,
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
console.log(`built ${outfile}`);
