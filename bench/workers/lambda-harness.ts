/**
 * Runs the registry's real Lambda entry (functions/lambda/registry.ts) in this process the
 * way the Lambda runtime does: the event arrives as JSON text, is parsed, handed to the
 * handler, and the result is serialised. The parent bench process sets the environment the
 * stack sets, with emulator endpoints. Every S3 and DynamoDB call is recorded per invocation,
 * with DynamoDB's consumed capacity, and bytes written to stdout (the function's logs) counted.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { awsClients } from '../../functions/adapters/aws/clients';
import { DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { hashSecret } from '../../functions/auth/secret-hash';
import { LAMBDA_ENV } from '../../functions/adapters/aws/env';

export interface StorageCall {
  service: 's3' | 'dynamodb';
  command: string;
  readUnits?: number;
  writeUnits?: number;
  /** Units estimated from the kind of call, not reported by the service. */
  estimated?: boolean;
}

export interface Invocation {
  method: string;
  path: string;
  status: number;
  requestBodyBytes: number;
  wallMs: number;
  cpuMs: number;
  rssBytes: number;
  calls: StorageCall[];
  logBytes: number;
  headers: Record<string, string>;
}

let current: StorageCall[] = [];
let logBytes = 0;

const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
  return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const CAPACITY_COMMANDS = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'TransactWriteItems', 'TransactGetItems', 'BatchWriteItem', 'BatchGetItem']);

type Capacity = { CapacityUnits?: number; ReadCapacityUnits?: number; WriteCapacityUnits?: number };

const commandOf = (context: { commandName?: string }) => String(context.commandName).replace(/Command$/, '');

type Next = (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

/** Initialize step: asks DynamoDB to report the capacity each call consumes. */
function askForCapacity(next: Next, context: { commandName?: string }) {
  return (args: { input: Record<string, unknown> }) => {
    if (CAPACITY_COMMANDS.has(commandOf(context))) args.input.ReturnConsumedCapacity = 'TOTAL';
    return next(args);
  };
}

/**
 * Deserialize step, which only calls that are sent reach (presigning a URL stops before it):
 * notes each call and the capacity it consumed.
 */
function recorder(service: StorageCall['service']) {
  return (next: Next, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
    const call: StorageCall = { service, command: commandOf(context) };
    current.push(call);
    const items = (args.input.TransactItems as unknown[] | undefined)?.length ?? 1;
    const result = await next(args);
    const consumed = result.output?.ConsumedCapacity as Capacity | Capacity[] | undefined;
    if (service === 'dynamodb' && !consumed) estimateUnits(call, items);
    for (const capacity of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      const read = capacity.ReadCapacityUnits ?? 0;
      const written = capacity.WriteCapacityUnits ?? 0;
      const total = capacity.CapacityUnits ?? 0;
      // Without the split, the command says which kind of unit it used.
      const isRead = /^(Get|Query|TransactGet|BatchGet)/.test(call.command);
      call.readUnits = (call.readUnits ?? 0) + (read || written ? read : isRead ? total : 0);
      call.writeUnits = (call.writeUnits ?? 0) + (read || written ? written : isRead ? 0 : total);
    }
    return result;
  };
}

/**
 * DynamoDB Local does not report consumed capacity: units from the call's kind, for items
 * under 1 KB (writes) and 4 KB (strongly consistent reads), as the registry's are;
 * transactions cost two units per item.
 */
function estimateUnits(call: StorageCall, items: number): void {
  call.estimated = true;
  if (/^(PutItem|UpdateItem|DeleteItem)$/.test(call.command)) call.writeUnits = 1;
  else if (call.command === 'TransactWriteItems') call.writeUnits = 2 * items;
  else if (call.command === 'TransactGetItems') call.readUnits = 2 * items;
  else if (/^(GetItem|Query)$/.test(call.command)) call.readUnits = 1;
  else call.estimated = false;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LambdaUnderTest {
  invoke(method: string, target: string, body?: Uint8Array, headers?: Record<string, string>): Promise<Invocation>;
  initMs: number;
  /**
   * When the function requires auth (it does once deployed): creates a user allowed to push
   * and pull, logs in as docker does, and sends its bearer token with every later request.
   */
  authorize(repositories: string[]): Promise<void>;
}

/** Imports the entry (its init phase, timed) and instruments the SDK clients it built. */
export async function loadLambda(): Promise<LambdaUnderTest> {
  const started = performance.now();
  const { handler } = (await import('../../functions/lambda/registry')) as { handler: Handler };
  const initMs = performance.now() - started;
  // Same configuration as createAwsStores in the entry, so the same cached clients.
  const clients = awsClients({ emulator: true });
  clients.s3.middlewareStack.add(recorder('s3') as never, { step: 'deserialize', name: 'benchRecordCalls' });
  clients.dynamodb.middlewareStack.add(recorder('dynamodb') as never, { step: 'deserialize', name: 'benchRecordCalls' });
  clients.dynamodb.middlewareStack.add(askForCapacity as never, { step: 'initialize', name: 'benchAskForCapacity' });

  const defaults: Record<string, string> = {};
  const lambda: LambdaUnderTest = {
    initMs,
    async authorize(repositories) {
      if ((await lambda.invoke('GET', '/v2/')).status !== 401) return;
      const store = new DynamoIdentityStore(clients.dynamodb, process.env[LAMBDA_ENV.table]!);
      const password = randomUUID();
      await store.createPrincipal({ name: 'bench', kind: 'user', secretHash: await hashSecret(password), generation: randomUUID(), createdAt: new Date().toISOString() });
      await store.setGrants('bench', [{ pattern: '**', actions: ['pull', 'push', 'delete'] }]);
      const scopes = repositories.map((name) => `scope=${encodeURIComponent(`repository:${name}:pull,push`)}`).join('&');
      const login = await handler(gatewayEvent('GET', '/token', `service=nimbus&${scopes}`, undefined, {
        authorization: `Basic ${Buffer.from(`bench:${password}`).toString('base64')}`,
      }), lambdaContext());
      const token = (JSON.parse(login.body ?? '{}') as { token?: string }).token;
      if (!token) throw new Error(`login through /token failed: ${login.statusCode} ${login.body}`);
      defaults.authorization = `Bearer ${token}`;
    },
    async invoke(method, target, body, extra = {}) {
      const headers = { ...defaults, ...extra };
      const [rawPath, rawQueryString = ''] = target.split('?') as [string, string?];
      const eventText = JSON.stringify(gatewayEvent(method, rawPath, rawQueryString, body, headers));
      current = [];
      const logBefore = logBytes;
      const cpuBefore = process.cpuUsage();
      const wallBefore = performance.now();
      // What the runtime does in the function's process: parse the event, call, serialise.
      const result = await handler(JSON.parse(eventText) as APIGatewayProxyEventV2, lambdaContext());
      JSON.stringify(result);
      const wallMs = performance.now() - wallBefore;
      const cpu = process.cpuUsage(cpuBefore);
      return {
        method, path: rawPath, status: result.statusCode ?? 0, requestBodyBytes: body?.byteLength ?? 0,
        wallMs, cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage().rss,
        calls: current, logBytes: logBytes - logBefore, headers: (result.headers ?? {}) as Record<string, string>,
      };
    },
  };
  return lambda;
}

function gatewayEvent(method: string, rawPath: string, rawQueryString: string, body: Uint8Array | undefined, headers: Record<string, string>): APIGatewayProxyEventV2 {
  const requestId = randomUUID();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0', routeKey: '$default', rawPath, rawQueryString,
    headers: { host: 'nimbus.bench', 'x-forwarded-proto': 'https', ...headers },
    requestContext: {
      accountId: '000000000000', apiId: 'bench', domainName: 'nimbus.bench', domainPrefix: 'nimbus', requestId,
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'nimbus-bench' },
      routeKey: '$default', stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
  if (body && body.byteLength > 0) {
    // API Gateway base64-encodes binary bodies before the function sees them.
    event.body = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
    event.isBase64Encoded = true;
    event.headers['content-length'] = String(body.byteLength);
  }
  return event;
}

function lambdaContext(): Context {
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true, functionName: 'nimbus-bench', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:nimbus-bench', memoryLimitInMB: '1024',
    awsRequestId, logGroupName: '/aws/lambda/nimbus-bench', logStreamName: 'bench',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined, fail: () => undefined, succeed: () => undefined,
  };
}

/** Upload URL from a 202's Location, as path + query for the next event. */
export function nextTarget(invocation: Invocation): string {
  const location = invocation.headers.location ?? invocation.headers.Location;
  if (!location) throw new Error(`${invocation.method} ${invocation.path} answered ${invocation.status} without a Location`);
  const url = new URL(location, 'https://nimbus.bench');
  return `${url.pathname}${url.search}`;
}

export function expectStatus(invocation: Invocation, status: number): Invocation {
  if (invocation.status !== status) throw new Error(`${invocation.method} ${invocation.path} answered ${invocation.status}, expected ${status}`);
  return invocation;
}

/** Workers hand their result to the parent through a file: stdout carries the function's logs. */
export function writeResult(value: unknown): void {
  const path = process.env.BENCH_RESULT_FILE;
  if (!path) throw new Error('BENCH_RESULT_FILE is not set');
  writeFileSync(path, JSON.stringify(value));
}

/** VmHWM of this process. */
export function peakRssBytes(): number {
  const status = readFileSync('/proc/self/status', 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}
