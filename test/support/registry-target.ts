import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogBuffer, ServerProcess } from '../../harness/server-process';
import { serverEntry } from './server-entry';
import { loggedUrl } from '../../functions/adapters/node/logger';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { addAdminUser } from '../../harness/dynamo-admin';

/**
 * A registry the end-to-end suite can run against. The suite only talks to it over HTTP
 * (host, url) and through these methods: it must not assume where or how data is stored.
 */
export interface RegistryTarget {
  readonly name: string;
  /**
   * The largest request body the target accepts (a Lambda invoke), when it has a limit.
   * Unmodified docker sends a layer as one request, so big-layer docker pushes need none.
   */
  readonly maxRequestBodyBytes?: number;
  start(): Promise<RunningTarget>;
}

export interface RunningTarget {
  /** 127.0.0.1:PORT, as used in image references (HOST/team/app:v1). */
  readonly host: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Stops and starts the registry on the same host and the same data. */
  restart(): Promise<void>;
  /** Stops the registry and removes its data. */
  stop(): Promise<void>;
  /** What the registry printed recently, for failure messages. */
  logs(): string;
  /**
   * A login with every grant, when the target requires one (the deployed path always
   * does): the suite logs its clients in with it and sends it on its own HTTP requests.
   */
  readonly credentials?: Credentials;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Headers for the suite's own HTTP requests: Basic credentials when the target needs a login. */
export function authHeaders(target: Pick<RunningTarget, 'credentials'>): Record<string, string> {
  const { credentials } = target;
  if (!credentials) return {};
  return { Authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` };
}

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LISTENING = 'nimbus registry listening';

export interface LocalNimbusOptions {
  /** NIMBUS_FSYNC; off is faster and still survives a process restart. @default false */
  fsync?: boolean;
  /** NIMBUS_LOG_LEVEL. @default info (one JSON line per request) */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** NIMBUS_AUTH=on, with an admin (every grant) in the data dir as the target's credentials. @default false */
  auth?: boolean;
  /** More settings for the server (NIMBUS_CACHE_RECHECK_MINUTES, ...). */
  env?: Record<string, string>;
}

/**
 * Nimbus on local disk, started the way `npm start` starts it (its bundle: server-entry.ts),
 * on an ephemeral port with a private data directory.
 */
export function localNimbusTarget(options: LocalNimbusOptions = {}): RegistryTarget {
  return {
    name: options.auth ? 'nimbus-local (NIMBUS_AUTH=on)' : 'nimbus-local',
    async start() {
      const dataDir = await mkdtemp(join(tmpdir(), 'nimbus-e2e-data-'));
      const credentials = options.auth ? await addAdminUser(new FsIdentityStore(dataDir), 'e2e') : undefined;
      const log = new LogBuffer();
      const launch = async (port: number) => {
        const server = new ServerProcess('nimbus (npm start)', process.execPath, serverEntry(), {
          cwd: REPO_ROOT,
          log,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOST: '127.0.0.1',
            PORT: String(port),
            NIMBUS_DATA_DIR: dataDir,
            NIMBUS_FSYNC: options.fsync ? 'on' : 'off',
            NIMBUS_LOG_LEVEL: options.logLevel ?? 'info',
            NIMBUS_AUTH: options.auth ? 'on' : 'off',
            ...options.env,
          },
        });
        const url = await server.waitForLine((line) => loggedUrl(line, LISTENING)).catch(async (error: unknown) => {
          await server.stop();
          throw error;
        });
        return { server, url };
      };

      let { server, url } = await launch(0);
      const port = Number(new URL(url).port);
      return {
        host: new URL(url).host,
        url,
        ...(credentials ? { credentials } : {}),
        logs: () => log.text(),
        async restart() {
          await server.stop();
          log.push('----- restart (same data directory, same port) -----');
          ({ server, url } = await launch(port));
        },
        async stop() {
          await server.stop();
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    },
  };
}

