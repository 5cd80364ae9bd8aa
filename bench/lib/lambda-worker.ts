import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSecretsStub } from '../../functions/dev/secrets-stub';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { awsEmulators } from './aws';
import type { BenchContext } from './section';

const UPLOAD_KEY_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:nimbus-bench-upload-key';
const TOKEN_KEY_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:nimbus-bench-token-key';
/** Set when the entry reads a token signing key (auth on): not every revision of the entry does. */
const TOKEN_SECRET_VARIABLE = (LAMBDA_ENV as Record<string, string>).tokenSecretArn;

/**
 * The environment the CDK stack gives the function, pointed at the emulators (fresh table
 * and bucket) and at a local stand-in for Secrets Manager, plus `close` for the stand-in.
 */
export async function lambdaEnvironment(ctx: BenchContext): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const emulators = await awsEmulators(ctx);
  const { table, bucket } = await emulators.createResources();
  const secrets = await startSecretsStub(new Map([
    [UPLOAD_KEY_ARN, randomBytes(32).toString('hex')],
    [TOKEN_KEY_ARN, randomBytes(32).toString('hex')],
  ]));
  return {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      [LAMBDA_ENV.table]: table,
      [LAMBDA_ENV.bucket]: bucket,
      [LAMBDA_ENV.uploadSecretArn]: UPLOAD_KEY_ARN,
      ...(TOKEN_SECRET_VARIABLE ? { [TOKEN_SECRET_VARIABLE]: TOKEN_KEY_ARN } : {}),
      [LAMBDA_ENV.blobRedirectSeconds]: '300',
      [LAMBDA_ENV.publicUrl]: 'http://registry.bench',
      [LAMBDA_ENV.emulator]: '1',
      // The stack's run-time secrets prefix (webhook secrets, cache credentials), as infra sets it.
      [LAMBDA_ENV.secretPrefix]: 'nimbus/bench',
      AWS_REGION: emulators.region,
      AWS_DEFAULT_REGION: emulators.region,
      AWS_ACCESS_KEY_ID: 'emulator',
      AWS_SECRET_ACCESS_KEY: 'emulator',
      AWS_ENDPOINT_URL_S3: emulators.endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'nimbus-bench',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
      POWERTOOLS_SERVICE_NAME: 'nimbus-registry',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
    close: () => secrets.close(),
  };
}

/**
 * Runs a worker script (bench/workers/*.ts) in its own Node process, so its CPU and memory
 * are the function's alone, and returns the JSON it wrote.
 */
export async function runWorker<T>(ctx: BenchContext, script: string, env: Record<string, string>, args: string[] = []): Promise<T> {
  const dir = await ctx.tmp('nimbus-bench-worker-');
  const resultFile = join(dir, 'result.json');
  let stderr = '';
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: ctx.repoRoot, env: { ...env, BENCH_RESULT_FILE: resultFile }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (data: Buffer) => (stderr = (stderr + data.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${stderr.trim().split('\n').slice(-8).join(' | ')}`);
  return JSON.parse(await readFile(resultFile, 'utf8')) as T;
}
