import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_LAMBDA_BODY_BYTES } from '../../functions/adapters/apigw/limits';
import { startAwsEmulators, type AwsEmulators } from './emulators';
import type { RegistryTarget, RunningTarget } from './registry-target';
import { LogBuffer, ServerProcess } from './server-process';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LISTENING = 'nimbus dev:aws listening';

export interface DevAwsOptions {
  /**
   * Let dev:aws start DynamoDB Local and the S3 emulator itself, as `npm run dev:aws`
   * does. Their data then lives and dies with the process, so restart() is refused.
   * @default false: the target runs the emulators, and restart() keeps the data
   */
  ownEmulators?: boolean;
}

export interface RunningDevAws extends RunningTarget {
  /** The S3 emulator's endpoint, where blob GETs are redirected. */
  readonly s3Endpoint: string;
}

export interface DevAwsTarget extends RegistryTarget {
  /**
   * Largest request body one Lambda invocation carries (the OCI-Chunk-Max-Length it
   * advertises): scenarios that need bigger single requests do not apply to this target.
   */
  readonly maxRequestBodyBytes: number;
  start(): Promise<RunningDevAws>;
}

/**
 * The deployed path, offline: `npm run dev:aws` (the real Lambda handler behind the
 * API Gateway stand-in, on DynamoDB Local and fauxqs), on an ephemeral port.
 */
export function devAwsTarget(options: DevAwsOptions = {}): DevAwsTarget {
  return {
    name: options.ownEmulators ? 'nimbus-dev-aws' : 'nimbus-dev-aws (shared emulators)',
    maxRequestBodyBytes: MAX_LAMBDA_BODY_BYTES,
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
            ...emulatorEnv,
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
      return {
        host: new URL(current.url).host,
        url: current.url,
        s3Endpoint: current.s3,
        logs: () => log.text(),
        async restart() {
          if (options.ownEmulators) throw new Error('restart() needs the target to run the emulators (ownEmulators: false)');
          await current.server.stop();
          log.push('----- restart (same emulators and state, same port) -----');
          current = await launch(port);
        },
        stop: () => cleanup(current.server),
      };
    },
  };
}

/** The URL and S3 endpoint from dev:aws's startup line, or undefined for any other line. */
function listening(line: string): { url: string; s3: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const entry = JSON.parse(line) as { msg?: unknown; url?: unknown; s3?: unknown };
    return entry.msg === LISTENING && typeof entry.url === 'string' && typeof entry.s3 === 'string' ? { url: entry.url, s3: entry.s3 } : undefined;
  } catch {
    return undefined;
  }
}
