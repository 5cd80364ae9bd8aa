import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_LAMBDA_BODY_BYTES } from '../../functions/adapters/apigw/limits';
import { startAwsEmulators, type AwsEmulators } from '../../functions/dev/emulators';
import { createAdminUser } from '../../harness/dynamo-admin';
import type { Credentials, RegistryTarget, RunningTarget } from './registry-target';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { uploadEndpointStarted } from '../../functions/dev/upload-endpoint-process';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LISTENING = 'nimbus dev:aws listening';

export interface DevAwsOptions {
  /**
   * Let dev:aws start DynamoDB Local and the S3 emulator itself, as `npm run dev:aws`
   * does. Their data then lives and dies with the process, so restart() is refused.
   * @default false: the target runs the emulators, and restart() keeps the data
   */
  ownEmulators?: boolean;
  /**
   * Run the upload endpoint beside the API (NIMBUS_DEV_UPLOAD_ENDPOINT), as the stack does:
   * upload Locations point at it and bodies of any size stream through it. Off, every
   * upload request goes through the Lambda and its ~4.45 MiB limit. @default true
   */
  uploadEndpoint?: boolean;
  /** Extra environment for dev:aws and the upload endpoint it starts (e.g. NIMBUS_UPLOAD_LEASE_SECONDS). */
  env?: Record<string, string>;
}

export interface RunningDevAws extends RunningTarget {
  /** The S3 emulator's endpoint, where blob GETs are redirected. */
  readonly s3Endpoint: string;
  /** The `npx nimbus ...` prefix the startup log prints for managing this registry's users. */
  readonly nimbusCli: string;
  /** DynamoDB Local's endpoint, and the table and bucket dev:aws runs on (as its startup log prints them). */
  readonly dynamodbEndpoint: string;
  readonly table: string;
  readonly bucket: string;
  /** Auth is always on, as when deployed: a user with every grant, made for the test. */
  readonly credentials: Credentials;
  /** The upload endpoint's process as last started (undefined when it is off). */
  uploadEndpoint(): { url: string; pid: number } | undefined;
  /** kill -9 of dev:aws (no shutdown), then a start on the same emulators, state and port. */
  crashAndRestart(): Promise<void>;
  /** Resolves with the first line dev:aws prints from now on that `match` accepts. */
  waitForLog<T>(match: (line: string) => T | undefined, timeoutMs?: number): Promise<T>;
}

export interface DevAwsTarget extends RegistryTarget {
  /**
   * Largest request body one Lambda invocation carries (the OCI-Chunk-Max-Length it
   * advertises): scenarios that need bigger single requests do not apply to this target.
   */
  readonly maxRequestBodyBytes: number | undefined;
  start(): Promise<RunningDevAws>;
}

/**
 * The deployed path, offline: `npm run dev:aws` (the real Lambda handler behind the
 * API Gateway stand-in, on DynamoDB Local and fauxqs), on an ephemeral port.
 */
export function devAwsTarget(options: DevAwsOptions = {}): DevAwsTarget {
  return {
    name: options.ownEmulators ? 'nimbus-dev-aws' : 'nimbus-dev-aws (shared emulators)',
    // With the upload endpoint, upload bodies never pass through the Lambda.
    maxRequestBodyBytes: options.uploadEndpoint === false ? MAX_LAMBDA_BODY_BYTES : undefined,
    async start() {
      const stateDir = await mkdtemp(join(tmpdir(), 'nimbus-dev-aws-'));
      const log = new LogBuffer();
      let emulators: AwsEmulators | undefined;
      let emulatorEnv: Record<string, string> = {};
      if (!options.ownEmulators) {
        emulators = await startAwsEmulators();
        const { table, bucket } = await emulators.createResources();
        emulatorEnv = {
          NIMBUS_DEV_S3_ENDPOINT: emulators.endpoints.s3,
          NIMBUS_DEV_DYNAMODB_ENDPOINT: emulators.endpoints.dynamodb,
          NIMBUS_DEV_TABLE: table,
          NIMBUS_DEV_BUCKET: bucket,
        };
      }
      const launch = async (port: number) => {
        const server = new ServerProcess('nimbus (npm run dev:aws)', process.execPath, ['--import', 'tsx', 'functions/dev/main.ts'], {
          cwd: REPO_ROOT,
          log,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: stateDir,
            HOST: '127.0.0.1',
            PORT: String(port),
            NIMBUS_DEV_STATE_DIR: stateDir,
            NIMBUS_LOG_LEVEL: 'info',
            NIMBUS_DEV_UPLOAD_ENDPOINT: options.uploadEndpoint === false ? 'off' : 'on',
            ...emulatorEnv,
            ...options.env,
          },
        });
        try {
          const ready = await server.waitForLine((line) => listening(line), 120_000);
          return { server, ...ready };
        } catch (error) {
          await server.stop();
          throw error;
        }
      };
      const cleanup = async (server?: ServerProcess) => {
        await server?.stop();
        await emulators?.stop();
        await rm(stateDir, { recursive: true, force: true });
      };

      let current: Awaited<ReturnType<typeof launch>>;
      try {
        current = await launch(0);
      } catch (error) {
        await cleanup();
        throw error;
      }
      const port = Number(new URL(current.url).port);
      let credentials: Credentials;
      try {
        credentials = await createAdmin(current);
      } catch (error) {
        await cleanup(current.server);
        throw error;
      }
      return {
        host: new URL(current.url).host,
        url: current.url,
        s3Endpoint: current.s3,
        nimbusCli: current.nimbusCli,
        dynamodbEndpoint: current.dynamodb,
        table: current.table,
        bucket: current.bucket,
        credentials,
        uploadEndpoint: () => lastUploadEndpoint(log.text()),
        waitForLog: (match, timeoutMs) => current.server.waitForLine(match, timeoutMs),
        logs: () => log.text(),
        async restart() {
          if (options.ownEmulators) throw new Error('restart() needs the target to run the emulators (ownEmulators: false)');
          await current.server.stop();
          log.push('----- restart (same emulators and state, same port) -----');
          current = await launch(port);
        },
        async crashAndRestart() {
          if (options.ownEmulators) throw new Error('crashAndRestart() needs the target to run the emulators (ownEmulators: false)');
          await current.server.kill();
          log.push('----- kill -9, then restart (same emulators and state, same port) -----');
          current = await launch(port);
        },
        stop: () => cleanup(current.server),
      };
    },
  };
}

interface Listening {
  url: string;
  s3: string;
  dynamodb: string;
  table: string;
  bucket: string;
  nimbusCli: string;
}

/** What dev:aws's startup line says about where it runs, or undefined for any other line. */
function listening(line: string): Listening | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const fields = ['url', 's3', 'dynamodb', 'table', 'bucket', 'nimbusCli'] as const;
    if (entry.msg !== LISTENING || !fields.every((name) => typeof entry[name] === 'string')) return undefined;
    return Object.fromEntries(fields.map((name) => [name, entry[name]])) as unknown as Listening;
  } catch {
    return undefined;
  }
}

/** A user with pull, push and delete everywhere, written straight into dev:aws's table. */
function createAdmin(running: Listening): Promise<Credentials> {
  return createAdminUser({ region: 'us-east-1', endpoint: running.dynamodb, table: running.table, prefix: 'e2e' });
}

function lastUploadEndpoint(logs: string): { url: string; pid: number } | undefined {
  return logs.split('\n').map(uploadEndpointStarted).filter((entry) => entry !== undefined).at(-1);
}
