import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiGatewayHandler } from '../../functions/adapters/apigw/index';
import { startHttpServer, type RunningServer } from '../../functions/adapters/node-http/server';
import type { Logger } from '../../functions/core/index';
import { startGatewayServer, type RunningGateway } from '../../functions/dev/gateway-server';
import { createLocalRegistry, type LocalRegistry } from '../../functions/local/local-registry';
import { readSettings } from '../../functions/local/settings';
import { IdleMonitor } from '../../functions/upload-server/idle-monitor';
import { uploadEndpointFetch } from '../../functions/upload-server/upload-app';
import { sendRaw } from '../support/raw-http';
import { HOSTILE_CASES, type Answer, type HostileCase } from './hostile/cases';
import { expectAnswer, wireRequest } from './hostile/send';
import { WIRE_CASES } from './hostile/wire-cases';
import { createWorld, snapshot, type World } from './hostile/world';

/**
 * The hostile-input table on the wire, byte for byte (node:net), through every transport
 * the registry runs behind: the node:http server as `npm start` builds it, the API Gateway
 * stand-in of `npm run dev:aws` in front of the API Gateway adapter, and the upload
 * endpoint (node:http, upload sessions only). All three serve one registry on one data
 * directory, so a request one of them wrongly accepted would show in the snapshot.
 */
const quiet: Logger = { log() {} };
let dataDir: string;
let local: LocalRegistry;
let npmStart: RunningServer;
let gateway: RunningGateway;
let uploadEndpoint: RunningServer;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nimbus-hostile-'));
  const settings = readSettings({ NIMBUS_DATA_DIR: dataDir, NIMBUS_FSYNC: 'off', HOST: '127.0.0.1', PORT: '0' });
  local = await createLocalRegistry(settings, quiet);
  npmStart = await startHttpServer({ fetch: local.registry.fetch, logger: quiet, host: settings.host, port: settings.port });
  gateway = await startGatewayServer({
    handler: createApiGatewayHandler({ fetch: local.registry.fetch, logger: quiet }),
    host: '127.0.0.1', port: 0,
    function: { functionName: 'hostile', memoryLimitInMB: 1024, region: 'us-east-1', accountId: '000000000000' },
  });
  uploadEndpoint = await startHttpServer({ fetch: uploadEndpointFetch(local.registry, new IdleMonitor()), logger: quiet, host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await Promise.all([npmStart?.close(0), gateway?.close(), uploadEndpoint?.close(0)]);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Stands in for a world when choosing cases: targets are pure functions of it. */
const SHAPE: World = {
  ns: 'ns', repo: 'ns/app', uploadPath: '/v2/ns/app/blobs/uploads/0', state: 's', stateAlias: 't', layer: 'l', manifest: '{}', bytes: new Uint8Array(0),
};
const ALL_CASES = [...HOSTILE_CASES, ...WIRE_CASES];
const onUploadSession = (row: HostileCase) => row.target(SHAPE).startsWith(SHAPE.uploadPath);

const TRANSPORTS: { name: string; url: () => string; answer: (row: HostileCase) => Answer; cases: readonly HostileCase[] }[] = [
  { name: 'npm start (node:http)', url: () => npmStart.url, answer: (row) => row.expect, cases: ALL_CASES },
  { name: 'dev:aws (API Gateway stand-in and adapter)', url: () => gateway.url, answer: (row) => row.gateway ?? row.expect, cases: ALL_CASES },
  { name: 'upload endpoint (node:http, upload sessions only)', url: () => uploadEndpoint.url, answer: (row) => row.expect, cases: ALL_CASES.filter(onUploadSession) },
];

for (const transport of TRANSPORTS) {
  describe(`hostile requests on the wire: ${transport.name}`, () => {
    let world: World;
    beforeAll(async () => {
      world = await createWorld(local.registry.fetch);
    });

    for (const row of transport.cases) {
      it(`${row.method} ${row.name}`, async () => {
        const before = await snapshot(local.registry.fetch, world);
        const url = transport.url();
        const response = await sendRaw(url, wireRequest(row, world, new URL(url).host), { head: row.method === 'HEAD' });
        expectAnswer({ status: response.status, contentType: response.headers['content-type'], body: response.body.toString('utf8') }, transport.answer(row), { bodyless: row.method === 'HEAD' });
        expect(await snapshot(local.registry.fetch, world), 'a refused request changes nothing').toBe(before);
      });
    }
  });
}
