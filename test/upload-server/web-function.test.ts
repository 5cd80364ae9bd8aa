import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsStores } from '../../functions/adapters/aws/index';
import { loggedUrl } from '../../functions/adapters/node/logger';
import { createRegistry, type Registry } from '../../functions/core/index';
import { startSecretsStub, type SecretsStub } from '../../functions/dev/secrets-stub';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';
import { bodyText, RegistryClient, streamBody, withQuery } from '../api/client';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { freePort } from '../../harness/net';
import { LogBuffer, ServerProcess } from '../../harness/server-process';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MiB = 1024 * 1024;
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:web-function-upload-key';
const KEY = randomBytes(32).toString('hex');

/**
 * The upload endpoint as a Lambda web function: functions/upload-server/web-function.ts,
 * started as the runtime starts it (a process told where to listen by AWS_LAMBDA_HTTP_ENDPOINT,
 * no PORT), with the Fargate server's environment, on the emulators. The registry opens the
 * session and hands out a Location on it; the client streams a layer through it.
 */
describe('upload endpoint as a Lambda web function', () => {
  let emulators: AwsEmulators;
  let secrets: SecretsStub;
  let server: ServerProcess;
  let endpoint: string;
  let listenOn: string;
  let registry: Registry;
  let client: RegistryClient;

  beforeAll(async () => {
    emulators = await startAwsEmulators();
    const { table, bucket } = await emulators.createResources();
    secrets = await startSecretsStub(new Map([[SECRET_ARN, KEY]]));
    listenOn = `127.0.0.1:${await freePort()}`;
    const log = new LogBuffer();
    server = new ServerProcess('web function', process.execPath, ['--import', 'tsx', 'functions/upload-server/web-function.ts'], {
      cwd: REPO_ROOT,
      log,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        AWS_LAMBDA_HTTP_ENDPOINT: listenOn,
        [LAMBDA_ENV.table]: table,
        [LAMBDA_ENV.bucket]: bucket,
        [LAMBDA_ENV.uploadSecretArn]: SECRET_ARN,
        [LAMBDA_ENV.emulator]: '1',
        NIMBUS_PART_SIZE_MIB: '5',
        AWS_REGION: emulators.region,
        AWS_ACCESS_KEY_ID: 'emulator',
        AWS_SECRET_ACCESS_KEY: 'emulator',
        AWS_ENDPOINT_URL_S3: emulators.endpoints.s3,
        AWS_ENDPOINT_URL_DYNAMODB: emulators.endpoints.dynamodb,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      },
    });
    endpoint = await server.waitForLine((line) => loggedUrl(line, 'nimbus upload endpoint listening'), 60_000);
    const stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket });
    registry = createRegistry({
      blobs: stores.blobs, metadata: stores.metadata,
      config: { uploadSecret: new TextEncoder().encode(KEY), uploadOrigin: endpoint, blobRedirectSeconds: 0 },
    });
    client = new RegistryClient(registry.fetch);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await secrets?.close();
    await emulators?.stop();
  }, 60_000);

  it('listens where AWS_LAMBDA_HTTP_ENDPOINT says', () => {
    expect(new URL(endpoint).host).toBe(listenOn);
  });

  it('takes a streamed layer of several parts (docker\'s PATCH, then PUT ?digest=) and stores it verified', async () => {
    const blob = new Uint8Array(randomBytes(17 * MiB));
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const location = await client.startUpload('web/app');
    expect(new URL(location).origin).toBe(endpoint);
    const patched = await fetch(location, { method: 'PATCH', body: streamBody(blob, 256 * 1024), duplex: 'half' } as RequestInit);
    expect(patched.status, await bodyText(patched)).toBe(202);
    expect(patched.headers.get('range')).toBe(`0-${blob.byteLength - 1}`);
    const done = await fetch(new URL(withQuery(patched.headers.get('location')!, { digest }), endpoint), { method: 'PUT' });
    expect(done.status, await bodyText(done)).toBe(201);
    const back = await client.send('GET', `/v2/web/app/blobs/${digest}`);
    expect(back.status).toBe(200);
    expect(`sha256:${createHash('sha256').update(new Uint8Array(await back.arrayBuffer())).digest('hex')}`).toBe(digest);
  });

  it('builds nothing from the Host header: Locations stay relative whatever Host says', async () => {
    const location = new URL(await client.startUpload('web/host'));
    const answer = await new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const req = httpRequest(location, { method: 'GET', headers: { host: 'attacker.example' } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location });
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(204);
    expect(answer.location).toMatch(/^\/v2\/web\/host\/blobs\/uploads\//);
  });

  it('serves upload sessions only: anything else is a spec 404', async () => {
    const response = await fetch(`${endpoint}/v2/_catalog`);
    expect(response.status).toBe(404);
    expect((await response.json() as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UNSUPPORTED');
    expect((await fetch(`${endpoint}/_nimbus/wake`)).status).toBe(200);
  });
});
