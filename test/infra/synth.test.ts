import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * `npx cdk synth` as a user runs it on a fresh clone: the real CLI, no AWS credentials or
 * config (empty HOME, no AWS_* variables), the function bundled by the local esbuild.
 */
describe('npx cdk synth without AWS credentials', () => {
  let home: string;
  let out: string;
  let output: string;
  let bundlePath = '';

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'nimbus-synth-home-'));
    out = await mkdtemp(join(tmpdir(), 'nimbus-synth-out-'));
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('CDK_')));
    const result = await run(join(root, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '--output', out], {
      // A docker binary that does not exist: synth only stages the upload endpoint's build context.
      cwd: root, env: { ...env, HOME: home, CI: 'true', CDK_DOCKER: 'docker-is-not-used-by-synth' }, maxBuffer: 16 * 1024 * 1024, timeout: 180_000,
    });
    output = result.stdout + result.stderr;
  }, 200_000);

  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  });

  it('writes the template with the bundled function and a clean validation report', async () => {
    const template = JSON.parse(await readFile(join(out, 'Nimbus.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).map((r) => r.Type)).toContain('AWS::Lambda::Function');
    const assets = JSON.parse(await readFile(join(out, 'Nimbus.assets.json'), 'utf8')) as { files: Record<string, { source: { path: string } }> };
    const bundle = Object.values(assets.files).find((file) => file.source.path.startsWith('asset.'));
    expect(bundle, output).toBeDefined();
    const code = await readFile(join(out, bundle!.source.path, 'index.mjs'), 'utf8');
    expect(code.length).toBeGreaterThan(10_000);
    await expect(readFile(join(out, bundle!.source.path, 'index.mjs.map'), 'utf8')).resolves.toContain('"mappings"');
    const report = JSON.parse(await readFile(join(out, 'validation-report.json'), 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
    bundlePath = join(out, bundle!.source.path, 'index.mjs');
  });

  it('bundles a handler that loads as an ES module and answers in spec JSON when its secret is out of reach', async () => {
    const event = JSON.stringify({
      version: '2.0', routeKey: '$default', rawPath: '/v2/', rawQueryString: '', headers: { host: 'x' }, isBase64Encoded: false,
      requestContext: { requestId: 'r1', http: { method: 'GET', path: '/v2/' }, domainName: 'x', stage: '$default' },
    });
    const script = `const { handler } = await import(${JSON.stringify(bundlePath)});
const result = await handler(${event}, { awsRequestId: 'l1', functionName: 'f', memoryLimitInMB: '1024', functionVersion: '1', invokedFunctionArn: 'arn', getRemainingTimeInMillis: () => 30000 });
process.stdout.write('RESULT ' + JSON.stringify(result) + '\\n');`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH ?? '', HOME: home, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x',
        // A closed port: the cold start cannot read its upload key.
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1',
        NIMBUS_TABLE_NAME: 't', NIMBUS_BUCKET_NAME: 'b', NIMBUS_UPLOAD_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
        NIMBUS_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t', NIMBUS_PUBLIC_URL: 'https://registry.example',
      },
      timeout: 60_000,
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const result = JSON.parse(line!.slice('RESULT '.length)) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body).errors[0].code).toBe('UNAVAILABLE');
  });
});
