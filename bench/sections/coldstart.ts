import { spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { lambdaEnvironment } from '../lib/lambda-worker';
import type { BenchContext, Section, Table } from '../lib/section';
import { formatBytes, formatSummary, summarize, type Summary } from '../lib/stats';

/**
 * esbuild options of infra/constructs/registry-function.ts (NodejsFunction bundling):
 * ESM, node22, minified, external source map, nothing external, the require() banner.
 */
const BUNDLING = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: { js: 'import{createRequire as __nimbusCreateRequire}from"node:module";const require=__nimbusCreateRequire(import.meta.url);' },
  metafile: true,
  logLevel: 'silent',
} as const;

interface BundleStats {
  entry: string;
  /** 'http': an API Gateway handler; 'task': invoked with other events (only its init is timed). */
  kind: 'http' | 'task';
  bytes: number;
  sourceMapBytes: number;
  /** Largest contributors to the bundle, by package. */
  topPackages: { name: string; bytes: number }[];
  initMs: Summary;
  firstInvokeMs: Summary | undefined;
  rssAfterInitBytes: Summary;
  peakRssBytes: Summary;
}

export interface ColdStartData {
  bundles: BundleStats[];
}

/** Lambda entries: files in functions/lambda/ exporting a `handler`; API Gateway ones name its event type. */
async function lambdaEntries(repoRoot: string): Promise<{ entry: string; kind: BundleStats['kind'] }[]> {
  const dir = join(repoRoot, 'functions/lambda');
  const entries: { entry: string; kind: BundleStats['kind'] }[] = [];
  for (const name of (await readdir(dir)).filter((file) => file.endsWith('.ts')).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    if (!/export\s+(async\s+function|const|function)\s+handler\b/.test(text)) continue;
    entries.push({ entry: `functions/lambda/${name}`, kind: text.includes('APIGatewayProxyEventV2') ? 'http' : 'task' });
  }
  return entries;
}

function topPackages(metafile: Metafile): { name: string; bytes: number }[] {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match ? match[1]! : input.startsWith('functions/') ? 'functions/ (Nimbus)' : 'other';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, 6);
}

interface ProbeResult {
  initMs: number;
  firstInvokeMs: number | null;
  rssAfterInit: number;
  peakRssBytes: number;
}

function probe(ctx: BenchContext, bundle: string, kind: BundleStats['kind'], resultFile: string, env: Record<string, string>): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    // NODE_OPTIONS as the stack sets it: stack traces through the bundled source map.
    const child = spawn(process.execPath, [join(ctx.repoRoot, 'bench/workers/init-probe.mjs'), bundle, resultFile, kind], {
      env: { ...env, NODE_OPTIONS: '--enable-source-maps' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`init probe exited ${code}: ${stderr.slice(-500)}`));
      readFile(resultFile, 'utf8').then((text) => resolve(JSON.parse(text)), reject);
    });
  });
}

/** Section 6: each Lambda bundle's size (esbuild metafile) and its module init time. */
export const coldStart: Section = {
  id: 'coldstart',
  title: 'Cold start: Lambda bundle size and module init',
  summary: 'each Lambda bundle built as the stack builds it: size from the esbuild metafile, module init and first-invocation time',
  async run(ctx) {
    const dir = await ctx.tmp('nimbus-bench-bundles-');
    const environment = await lambdaEnvironment(ctx);
    const data: ColdStartData = { bundles: [] };
    try {
      for (const { entry, kind } of await lambdaEntries(ctx.repoRoot)) {
        const outfile = join(dir, `${entry.replaceAll('/', '_').replace(/\.ts$/, '')}.mjs`);
        ctx.log(`coldstart: bundling ${entry}`);
        const result = await build({ ...BUNDLING, absWorkingDir: ctx.repoRoot, entryPoints: [entry], outfile, mainFields: [...BUNDLING.mainFields] });
        const samples: ProbeResult[] = [];
        for (let run = 0; run < ctx.runs; run++) samples.push(await probe(ctx, outfile, kind, join(dir, `probe-${run}.json`), environment.env));
        const invokes = samples.flatMap((sample) => (sample.firstInvokeMs === null ? [] : [sample.firstInvokeMs]));
        data.bundles.push({
          entry,
          kind,
          bytes: (await stat(outfile)).size,
          sourceMapBytes: (await stat(`${outfile}.map`)).size,
          topPackages: topPackages(result.metafile),
          initMs: summarize(samples.map((s) => s.initMs)),
          firstInvokeMs: invokes.length ? summarize(invokes) : undefined,
          rssAfterInitBytes: summarize(samples.map((s) => s.rssAfterInit)),
          peakRssBytes: summarize(samples.map((s) => s.peakRssBytes)),
        });
      }
    } finally {
      await environment.close();
    }
    const tables: Table[] = [{
      title: 'Lambda bundles (esbuild, as the stack bundles them); init and first invocation, median (min–max)',
      columns: ['entry', 'bundle', 'source map', 'module init', 'first invocation (GET /v2/)', 'RSS after init', 'largest parts'],
      rows: data.bundles.map((bundle) => [
        bundle.entry, formatBytes(bundle.bytes), formatBytes(bundle.sourceMapBytes), formatSummary(bundle.initMs),
        bundle.firstInvokeMs ? formatSummary(bundle.firstInvokeMs) : 'n/a (not an HTTP entry)',
        formatSummary(bundle.rssAfterInitBytes, formatBytes), bundle.topPackages.slice(0, 4).map((p) => `${p.name} ${formatBytes(p.bytes)}`).join(', '),
      ]),
    }];
    return {
      tables,
      notes: [
        'Module init: the time `await import(bundle)` takes in a fresh Node process with NODE_OPTIONS=--enable-source-maps (as deployed), not counting Node\'s own start. First invocation: GET /v2/ right after, which waits for the Secrets Manager reads the init started (a local stand-in answers them).',
        `Measured with this machine's Node ${process.version} on x86-64; deployed functions run nodejs22.x on arm64, where Lambda reports Init Duration for the same phase.`,
      ],
      data: data as unknown as Record<string, unknown>,
    };
  },
};
