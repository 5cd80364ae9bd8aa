import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AbortMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { uploadEndpointStarted } from '../../functions/dev/upload-endpoint-process';
import type { AwsEmulators } from '../../functions/dev/emulators';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { createAdminUser } from '../../harness/dynamo-admin';
import { descendants } from './proc';
import { loggedUrl } from '../../functions/adapters/node/logger';

const credentialsOfEmulators = { accessKeyId: 'emulator', secretAccessKey: 'emulator' };

/** `npm run dev:aws` as the bench runs it: on the bench's emulators, a fresh table and bucket. */
export interface DevAws {
  /** http://127.0.0.1:PORT, the API Gateway stand-in. */
  readonly url: string;
  readonly host: string;
  /** The dev:aws process: gateway, Lambda handler and the direct-upload verifier. */
  readonly pid: number;
  /** The upload endpoint process, when it runs. */
  readonly uploadEndpoint: { url: string; pid: number } | undefined;
  readonly credentials: { username: string; password: string };
  /** Authorization header value (HTTP Basic, which the registry takes on every request). */
  readonly authorization: string;
  readonly bucket: string;
  logs(): string;
  /** Stops dev:aws (and so its upload endpoint), drops the table and bucket, removes its state dir; once. */
  stop(): Promise<void>;
}

/** Starts dev:aws (functions/dev/main.ts) with the upload endpoint on or off. */
export async function startDevAws(repoRoot: string, emulators: AwsEmulators, uploadEndpoint: boolean): Promise<DevAws> {
  const { table, bucket } = await emulators.createResources();
  const stateDir = await mkdtemp(join(tmpdir(), 'nimbus-bench-dev-aws-'));
  const log = new LogBuffer(2000);
  const server = new ServerProcess('nimbus (npm run dev:aws)', process.execPath, ['--import', 'tsx', 'functions/dev/main.ts'], {
    cwd: repoRoot,
    log,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: stateDir,
      HOST: '127.0.0.1',
      PORT: '0',
      NIMBUS_DEV_STATE_DIR: stateDir,
      NIMBUS_LOG_LEVEL: 'info',
      NIMBUS_DEV_UPLOAD_ENDPOINT: uploadEndpoint ? 'on' : 'off',
      NIMBUS_DEV_S3_ENDPOINT: emulators.endpoints.s3,
      NIMBUS_DEV_DYNAMODB_ENDPOINT: emulators.endpoints.dynamodb,
      NIMBUS_DEV_TABLE: table,
      NIMBUS_DEV_BUCKET: bucket,
    },
  });
  const pid = server.pid;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    // The upload endpoint is dev:aws's child; should dev:aws die first, it must not outlive it.
    const children = pid === undefined ? [] : descendants(pid);
    await server.stop();
    for (const child of children) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone, as it should be.
      }
    }
    await dropResources(emulators, table, bucket);
    await rm(stateDir, { recursive: true, force: true });
  })());
  try {
    const url = await server.waitForLine((line) => loggedUrl(line, 'nimbus dev:aws listening'), 120_000);
    if (pid === undefined) throw new Error('dev:aws has no pid');
    const endpoint = log.text().split('\n').map(uploadEndpointStarted).find((entry) => entry !== undefined);
    if (uploadEndpoint && !endpoint) throw new Error('dev:aws started no upload endpoint');
    const credentials = await createUser(emulators, table);
    return {
      url, host: new URL(url).host, pid, uploadEndpoint: endpoint, credentials, bucket,
      authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
      logs: () => log.text(60),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}


/** Auth is always on in dev:aws: a user with every grant, written straight into its table. */
function createUser(emulators: AwsEmulators, table: string): Promise<{ username: string; password: string }> {
  return createAdminUser({ region: emulators.region, endpoint: emulators.endpoints.dynamodb, table, prefix: 'bench' });
}

/**
 * Deletes a bucket with everything in it (objects and unfinished multipart uploads) and a
 * table: fauxqs keeps every byte in memory, and runs must not add up.
 */
export async function dropResources(emulators: AwsEmulators, table: string | undefined, bucket: string): Promise<void> {
  const s3 = new S3Client({ region: emulators.region, endpoint: emulators.endpoints.s3, credentials: credentialsOfEmulators, forcePathStyle: true });
  const dynamodb = new DynamoDBClient({ region: emulators.region, endpoint: emulators.endpoints.dynamodb, credentials: credentialsOfEmulators });
  try {
    for (;;) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    }
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads.Uploads ?? []) {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key!, UploadId: upload.UploadId! }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    if (table) await dynamodb.send(new DeleteTableCommand({ TableName: table }));
  } finally {
    s3.destroy();
    dynamodb.destroy();
  }
}
