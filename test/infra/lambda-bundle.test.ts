import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/constructs/bundle-entry';
import { bundleLambda, LAMBDA_ENTRY_FILE, loadedAtStart } from '../../infra/constructs/lambda-bundle';

/**
 * The registry function as `cdk synth` bundles it: what its cold start loads (the entry and
 * the chunks it imports statically) and what only a request that needs it loads.
 */
describe('registry Lambda bundle', () => {
  let dir: string;
  let metafile: Metafile;
  let startInputs: string[];
  let laterInputs: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nimbus-lambda-bundle-'));
    metafile = bundleLambda('functions/lambda/registry.ts', dir);
    const atStart = new Set(loadedAtStart(metafile, relative(repoRoot, join(dir, LAMBDA_ENTRY_FILE))));
    const inputsOf = (outputs: string[]) => outputs.flatMap((output) => Object.keys(metafile.outputs[output]!.inputs));
    const javascript = Object.keys(metafile.outputs).filter((output) => output.endsWith('.mjs'));
    startInputs = inputsOf(javascript.filter((output) => atStart.has(output)));
    laterInputs = inputsOf(javascript.filter((output) => !atStart.has(output)));
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    'node_modules/@aws-sdk/client-s3/', 'node_modules/@aws-sdk/s3-request-presigner/', 'node_modules/@aws-sdk/client-lambda/',
    'node_modules/@aws-sdk/client-ecs/', 'node_modules/hash-wasm/', 'functions/core/ui/assets.generated.ts',
    'functions/core/handlers/browse.ts', 'functions/core/handlers/webhooks.ts', 'functions/core/handlers/policies.ts',
    'functions/core/cache/cache.ts', 'functions/core/cache/blob-fill.ts', 'functions/core/handlers/cache-fill.ts',
  ])('loads %s on first use, not during the cold start', (input) => {
    expect(startInputs.filter((path) => path.startsWith(input))).toEqual([]);
    expect(laterInputs.some((path) => path.startsWith(input))).toBe(true);
  });

  it('loads the DynamoDB client, the route table and the entry itself during the cold start', () => {
    for (const input of ['node_modules/@aws-sdk/client-dynamodb/', 'functions/core/routes.ts', 'functions/lambda/registry.ts']) {
      expect(startInputs.some((path) => path.startsWith(input)), input).toBe(true);
    }
  });
});
