import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoIdentityStore } from '../../functions/adapters/aws/dynamo-identity-store';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import type { IdentityStore } from '../../functions/auth/identity-store';
import { MemoryAttemptCounter, type AttemptCounter } from '../../functions/auth/login-throttle';
import { hashSecret } from '../../functions/auth/secret-hash';
import { StoreThrottledError, StoreUnavailableError } from '../../functions/core/errors';
import { authHarness, basic, getToken, type AuthHarness } from './harness';

/** What a DynamoDB error message carries, and a client must never see. */
const INTERNALS = 'read principal: ProvisionedThroughputExceededException: GetItem on arn:aws:dynamodb:eu-west-1:123456789012:table/nimbus-prod';
const SECRETS_OF_THE_HOUSE = [/arn:aws/, /123456789012/, /GetItem/, /ProvisionedThroughput/, /InternalServerError/, /read principal/];

const failures = [
  { kind: 'throttled', error: () => new StoreThrottledError(INTERNALS), status: 429, code: 'TOOMANYREQUESTS' },
  { kind: 'unavailable', error: () => new StoreUnavailableError(INTERNALS), status: 503, code: 'UNAVAILABLE' },
] as const;

/** An identity store whose chosen methods fail while `failing` is set. */
function flaky(store: IdentityStore, methods: (keyof IdentityStore)[]): { store: IdentityStore; failing: Error | undefined } {
  const state: { store: IdentityStore; failing: Error | undefined } = { store, failing: undefined };
  state.store = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.failing && methods.includes(property as keyof IdentityStore)) return Promise.reject(state.failing);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return state;
}

async function expectRetryable(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  const text = await response.text();
  expect((JSON.parse(text) as { errors: { code: string }[] }).errors[0]!.code).toBe(code);
  for (const secret of SECRETS_OF_THE_HOUSE) expect(text).not.toMatch(secret);
}

const refreshForm = (refreshToken: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, scope: 'repository:alice/app:pull' }).toString(),
});

describe.each(failures)('a $kind identity store', ({ error, status, code }) => {
  let h: AuthHarness;
  let logs: string[];
  let dir: string;
  afterEach(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function open(methods: (keyof IdentityStore)[], attempts?: AttemptCounter) {
    logs = [];
    dir = await mkdtemp(join(tmpdir(), 'nimbus-flaky-'));
    const store = flaky(new FsIdentityStore(dir, { fsync: false }), methods);
    h = await authHarness({
      store: store.store,
      logger: { log: (level, message, fields) => logs.push(JSON.stringify({ level, message, fields })) },
      ...(attempts ? { attempts } : {}),
    });
    await h.addUser('alice', 'alice-password', { 'alice/*': ['pull', 'push'] });
    return store;
  }

  it(`answers a token refresh with a retryable ${status}, so docker keeps its login, and logs what failed`, async () => {
    const store = await open(['getPrincipal']);
    const login = (await (await getToken(h, [], basic('alice', 'alice-password'), { offline_token: 'true' })).json()) as { refresh_token: string };
    store.failing = error();
    await expectRetryable(await h.fetch('/token', refreshForm(login.refresh_token)), status, code);
    expect(logs.join('\n')).toContain('ProvisionedThroughputExceededException');
    store.failing = undefined;
    expect((await h.fetch('/token', refreshForm(login.refresh_token))).status).toBe(200);
  });

  it(`answers a login with ${status}, not 401, and counts no failure`, async () => {
    const store = await open(['getPrincipal']);
    store.failing = error();
    for (let i = 0; i < 8; i++) await expectRetryable(await getToken(h, [], basic('alice', 'alice-password')), status, code);
    await expectRetryable(await h.fetch('/v2/alice/app/tags/list', { headers: { authorization: basic('alice', 'alice-password') } }), status, code);
    store.failing = undefined;
    expect((await getToken(h, [], basic('alice', 'alice-password'))).status).toBe(200);
  });

  it(`answers a grant lookup with ${status}`, async () => {
    const store = await open(['grantsOf']);
    store.failing = error();
    await expectRetryable(await getToken(h, ['repository:alice/app:pull'], basic('alice', 'alice-password')), status, code);
    await expectRetryable(await h.fetch('/v2/alice/app/tags/list', { headers: { authorization: basic('alice', 'alice-password') } }), status, code);
  });

  it(`answers ${status} when the failed-login counter cannot be read`, async () => {
    const counter = new MemoryAttemptCounter();
    const failing: AttemptCounter = {
      increment: (...args) => counter.increment(...args),
      count: () => Promise.reject(error()),
      reset: (key) => counter.reset(key),
    };
    await open([], failing);
    await expectRetryable(await getToken(h, [], basic('alice', 'alice-password')), status, code);
  });
});

describe('a throttled DynamoDB identity store (aws-sdk-client-mock)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());

  it.each([
    { name: 'ProvisionedThroughputExceededException', httpStatusCode: 400, status: 429, code: 'TOOMANYREQUESTS' },
    { name: 'InternalServerError', httpStatusCode: 500, status: 503, code: 'UNAVAILABLE' },
  ])('answers a refresh during $name with $status and none of the SDK message', async ({ name, httpStatusCode, status, code }) => {
    const alice = { pk: 'AUTH#PRINCIPALS', sk: 'alice', name: 'alice', kind: 'user', secretHash: await hashSecret('alice-password'), generation: randomUUID(), createdAt: new Date().toISOString() };
    let failing = false;
    ddb.on(GetCommand).callsFake((input: { Key: Record<string, string> }) => {
      if (failing) {
        throw Object.assign(new Error(`${INTERNALS} (${name})`), { name, $metadata: { httpStatusCode } });
      }
      return { Item: input.Key.pk === 'AUTH#PRINCIPALS' && input.Key.sk === 'alice' ? alice : undefined };
    });
    const store = new DynamoIdentityStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })), 'nimbus-prod');
    const h = await authHarness({ store });
    try {
      const login = await getToken(h, [], basic('alice', 'alice-password'), { offline_token: 'true' });
      expect(login.status).toBe(200);
      const { refresh_token: refreshToken } = (await login.json()) as { refresh_token: string };
      failing = true;
      await expectRetryable(await h.fetch('/token', refreshForm(refreshToken)), status, code);
      failing = false;
      expect((await h.fetch('/token', refreshForm(refreshToken))).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});
