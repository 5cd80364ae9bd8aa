import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Metafile } from 'esbuild';
import { bundleLambda, LAMBDA_ENTRY_FILE, loadedAtStart } from '../../infra/constructs/lambda-bundle';
import { lambdaEnvironment } from '../lib/lambda-worker';
import type { BenchContext, Section, Table } from '../lib/section';
import { formatBytes, formatSummary, summarize, type Summary } from '../lib/stats';

interface BundleStats {
  entry: string;
  /** 'http': an API Gateway handler; 'task': invoked with other events (only its init is timed). */
  kind: 'http' | 'task';
  /** JavaScript a cold start loads: the entry file and the chunks it imports statically. */
  bytes: number;
  /** The entry file alone. */
  entryBytes: number;
  /** Every JavaScript file of the package, the chunks loaded on first use included. */
  totalBytes: number;
  chunks: number;
  sourceMapBytes: number;
  /** Largest contributors to what a cold start loads, by package. */
  topPackages: { name: string; bytes: number }[];
  initMs: Summary;
  /** CPU time of the same phase (user + system, all threads): steadier than wall time on a busy machine. */
  initCpuMs: Summary;
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

function topPackages(metafile: Metafile, outputs: string[]): { name: string; bytes: number }[] {
  const byPackage = new Map<string, number>();
  for (const output of outputs.map((path) => metafile.outputs[path]!)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match ? match[1]! : input.startsWith('functions/') ? 'functions/ (Nimbus)' : 'other';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes).slice(0, 6);
}

/** The sizes of one bundled entry, from its metafile (output paths relative to the repository). */
function packageSizes(metafile: Metafile, entryOutput: string) {
  const javascript = Object.keys(metafile.outputs).filter((path) => path.endsWith('.mjs'));
  const atStart = loadedAtStart(metafile, entryOutput);
  const sum = (paths: string[]) => paths.reduce((total, path) => total + metafile.outputs[path]!.bytes, 0);
  return {
    bytes: sum(atStart),
    entryBytes: metafile.outputs[entryOutput]!.bytes,
    totalBytes: sum(javascript),
    chunks: javascript.length - 1,
    sourceMapBytes: sum(Object.keys(metafile.outputs).filter((path) => path.endsWith('.map'))),
    topPackages: topPackages(metafile, atStart),
  };
}

interface ProbeResult {
  initMs: number;
  initCpuMs: number;
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
        const outdir = join(dir, entry.replaceAll('/', '_').replace(/\.ts$/, ''));
        ctx.log(`coldstart: bundling ${entry}`);
        const sizes = packageSizes(bundleLambda(entry, outdir), relative(ctx.repoRoot, join(outdir, LAMBDA_ENTRY_FILE)));
        const samples: ProbeResult[] = [];
        for (let run = 0; run < ctx.runs; run++) samples.push(await probe(ctx, join(outdir, LAMBDA_ENTRY_FILE), kind, join(dir, `probe-${run}.json`), environment.env));
        const invokes = samples.flatMap((sample) => (sample.firstInvokeMs === null ? [] : [sample.firstInvokeMs]));
        data.bundles.push({
          entry,
          kind,
          ...sizes,
          initMs: summarize(samples.map((s) => s.initMs)),
          initCpuMs: summarize(samples.map((s) => s.initCpuMs)),
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
      columns: ['entry', 'loaded at cold start', 'entry file', 'all chunks', 'source maps', 'module init', 'module init CPU', 'first invocation (GET /v2/)', 'RSS after init', 'largest parts loaded at cold start'],
      rows: data.bundles.map((bundle) => [
        bundle.entry, formatBytes(bundle.bytes), formatBytes(bundle.entryBytes), `${formatBytes(bundle.totalBytes)} in ${bundle.chunks + 1} files`,
        formatBytes(bundle.sourceMapBytes), formatSummary(bundle.initMs), formatSummary(bundle.initCpuMs),
        bundle.firstInvokeMs ? formatSummary(bundle.firstInvokeMs) : 'n/a (not an HTTP entry)',
        formatSummary(bundle.rssAfterInitBytes, formatBytes), bundle.topPackages.slice(0, 4).map((p) => `${p.name} ${formatBytes(p.bytes)}`).join(', '),
      ]),
    }];
    return {
      tables,
      notes: [
        'Bundled by infra/constructs/lambda-bundle.ts, as `cdk synth` bundles them: ESM with code splitting, so what an entry reaches only through `await import()` is a chunk of its own, loaded on first use. Loaded at cold start: the entry file and every chunk it imports statically (what module init parses); all chunks: the whole package.',
        'Module init: the time `await import(bundle)` takes in a fresh Node process with NODE_OPTIONS=--enable-source-maps (as deployed), not counting Node\'s own start. First invocation: GET /v2/ right after, which waits for the Secrets Manager reads the init started (a local stand-in answers them).',
        `Measured with this machine's Node ${process.version} on x86-64; deployed functions run nodejs22.x on arm64, where Lambda reports Init Duration for the same phase.`,
      ],
      data: data as unknown as Record<string, unknown>,
    };
  },
};
