import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

interface Assembly { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }

/**
 * `npx cdk synth -c nimbus:uploadEndpoint=<kind>` as a user runs it on a fresh clone, for the
 * kinds synth.test.ts does not cover (it synthesizes the default, fargate): the real CLI, no
 * AWS credentials or config, no Docker, and cdk-nag on every synth.
 */
for (const [kind, present, absent] of [
  ['webFunction', ['AWS::Lambda::WebFunction', 'AWS::Lambda::WebFunctionEndpoint'], ['AWS::ECS::Service', 'AWS::CloudFront::Distribution', 'AWS::EC2::VPC']],
  ['off', [], ['AWS::Lambda::WebFunction', 'AWS::ECS::Service', 'AWS::CloudFront::Distribution', 'AWS::EC2::VPC']],
] as const) {
  describe(`npx cdk synth -c nimbus:uploadEndpoint=${kind}, without AWS credentials`, () => {
    let home: string;
    let out: string;
    let output: string;

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), 'nimbus-synth-home-'));
      out = await mkdtemp(join(tmpdir(), 'nimbus-synth-out-'));
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')));
      const result = await run(join(root, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '--output', out, '-c', `nimbus:uploadEndpoint=${kind}`], {
        // A docker binary that does not exist: synth must need none.
        cwd: root, env: { ...env, HOME: home, CI: 'true', CDK_DOCKER: 'docker-is-not-used-by-synth' }, maxBuffer: 16 * 1024 * 1024, timeout: 240_000,
      });
      output = result.stdout + result.stderr;
    }, 260_000);

    afterAll(async () => {
      await rm(home, { recursive: true, force: true });
      await rm(out, { recursive: true, force: true });
    });

    it('passes cdk-nag and deploys the endpoint it names, and nothing of the others', async () => {
      const report = JSON.parse(await readFile(join(out, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
      expect(report.pluginReports, output).toEqual([]);
      const template = JSON.parse(await readFile(join(out, 'Nimbus.template.json'), 'utf8')) as Assembly;
      const types = new Set(Object.values(template.Resources).map((resource) => resource.Type));
      for (const type of present) expect(types, type).toContain(type);
      for (const type of absent) expect(types, type).not.toContain(type);
      expect(output).not.toMatch(/Acknowledge with 'Annotation::@aws-cdk\/aws-lambda:webFunctionPublicEndpoint'/);
    });

    if (kind === 'webFunction') {
      it('packages the bundled web-function entry as the revision\'s index.mjs, with its source map', async () => {
        const assets = JSON.parse(await readFile(join(out, 'Nimbus.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
        const template = JSON.parse(await readFile(join(out, 'Nimbus.template.json'), 'utf8')) as Assembly;
        const copy = Object.values(template.Resources).find((resource) => resource.Type === 'Custom::S3ObjectCopy')!;
        const packageHash = copy.Properties!.ContentHash as string;
        const asset = Object.values(assets.files).find((file) => file.source.path === `asset.${packageHash}`);
        expect(asset, 'the code package the copy names is an asset of the assembly').toBeDefined();
        const files = await readdir(join(out, asset!.source.path));
        expect(files.sort()).toEqual(['index.mjs', 'index.mjs.map']);
        const code = await readFile(join(out, asset!.source.path, 'index.mjs'), 'utf8');
        expect(code).toMatch(/^import\{createRequire as __nimbusCreateRequire\}/);
        await expect(readFile(join(out, asset!.source.path, 'index.mjs.map'), 'utf8')).resolves.toContain('web-function.ts');
      });
    }
  });
}
