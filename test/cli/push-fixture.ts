import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open as openFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { createAwsStores, S3BlobStore } from '../../functions/adapters/aws/index';
import { FsBlobStore } from '../../functions/adapters/fs/blob-store';
import { FsIdentityStore } from '../../functions/adapters/fs/identity-store';
import { FsMetadataStore } from '../../functions/adapters/fs/metadata-store';
import { startHttpServer, type RunningServer } from '../../functions/adapters/node-http/server';
import { createTokenAuthorizer, hashSecret } from '../../functions/auth/index';
import { loadOrCreateKeySet } from '../../functions/adapters/fs/key-file';
import type { Action } from '../../functions/core/access';
import { createRegistry, type BlobStore, type MetadataStore, type Registry, type RegistryTask, type TaskQueue } from '../../functions/core/index';
import type { AwsEmulators } from '../../functions/dev/emulators';
import { runNimbus, type Run } from '../support/nimbus-cli';

const MiB = 1024 * 1024;
/** fauxqs refuses request bodies over 11 MiB; real S3 takes parts up to 5 GiB. */
export const PART_SIZE = 8 * MiB;

export type { Run } from '../support/nimbus-cli';

/** Runs `nimbus ...args`: `input` is piped to stdin (a file path streams that file). */
export function nimbus(args: string[], options: { input?: string | { file: string }; env?: Record<string, string> } = {}): Promise<Run> {
  return runNimbus(args, options);
}

/** A registry served over HTTP on an ephemeral port, with every request it saw. */
export interface ServedRegistry {
  registry: Registry;
  server: RunningServer;
  /** `127.0.0.1:PORT`, the host part of a reference. */
  host: string;
  /** `METHOD /path` of every request, in order. */
  requests: string[];
}

/** `answered` sees each request and its response, before the response is sent. */
export async function serve(registry: Registry, answered?: (request: Request, response: Response) => void): Promise<ServedRegistry> {
  const requests: string[] = [];
  const server = await startHttpServer({
    fetch: async (request) => {
      requests.push(`${request.method} ${new URL(request.url).pathname}`);
      const response = await registry.fetch(request);
      answered?.(request, response);
      return response;
    },
    logger: { log() {} },
    host: '127.0.0.1',
    port: 0,
  });
  return { registry, server, host: new URL(server.url).host, requests };
}

/** What the storage proxy does to the next PUT of a part number. */
export type Fault = 'fail-503' | 'expired-403';

/**
 * Stands between the CLI and the S3 emulator on the presigned URLs: counts part uploads
 * and how many overlap, injects faults, and can hold the first part until a second one
 * arrives, so a parallel uploader shows its overlap however fast the machine is.
 */
export class StorageProxy {
  partPuts = 0;
  maxInFlight = 0;
  holdFirstPart = false;
  readonly faults = new Map<number, Fault[]>();
  private inFlight = 0;
  private waiting: Array<() => void> = [];
  private server!: RunningServer['server'];
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.partPuts = 0;
    this.maxInFlight = 0;
    this.faults.clear();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const part = req.method === 'PUT' ? new URL(req.url!, this.url).searchParams.get('partNumber') : null;
    if (part === null) return this.forward(req, res);
    this.partPuts++;
    const fault = this.faults.get(Number(part))?.shift();
    if (fault) {
      req.resume();
      const [status, code] = fault === 'fail-503' ? [503, 'SlowDown'] : [403, 'AccessDenied'];
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>injected</Message></Error>`);
      return;
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    for (const release of this.waiting.splice(0)) release();
    if (this.holdFirstPart && this.inFlight === 1) {
      // Proceeds when another part arrives; a sequential uploader gets through after 3 s.
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        setTimeout(resolve, 3_000);
      });
    }
    res.on('close', () => this.inFlight--);
    this.forward(req, res);
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpRequest(new URL(req.url!, this.target), { method: req.method, headers: req.headers }, (response) => {
      res.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface PushWorld {
  dir: string;
  proxy: StorageProxy;
  /** S3 emulator storage, presigned URLs through the proxy, no auth. */
  open: ServedRegistry;
  /** The same storage with token auth (users below). */
  secured: ServedRegistry;
  /** Local-disk storage: no direct uploads. */
  disk: ServedRegistry;
  /**
   * The S3 storage verifying direct uploads in the background, as the deployed registry
   * does (a queue and a worker Lambda): completion answers 202 and the CLI polls.
   * `backgroundVerification` 'hold' keeps tasks queued, as a stuck worker would.
   */
  background: ServedRegistry;
  backgroundVerification: 'run' | 'hold';
  addUser(name: string, password: string, grants: Record<string, Action[]>): Promise<void>;
  close(): Promise<void>;
}

export async function createPushWorld(emulators: AwsEmulators, partSize = PART_SIZE): Promise<PushWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'nimbus-push-test-'));
  const proxy = new StorageProxy(emulators.endpoints.s3);
  await proxy.start();
  const { table, bucket } = await emulators.createResources();
  const stores = createAwsStores({ region: emulators.region, endpoints: emulators.endpoints, emulator: true, table, bucket, partSize });
  const presigner = new S3Client({
    region: emulators.region, endpoint: proxy.url, forcePathStyle: true, credentials: { accessKeyId: 'emulator', secretAccessKey: 'emulator' },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const blobs = new S3BlobStore(stores.clients.s3, { bucket, presigner, partSize });
  const config = { uploadSecret: randomBytes(32) };
  const identities = new FsIdentityStore(join(dir, 'auth'), { fsync: false });
  const keys = await loadOrCreateKeySet(join(dir, 'auth'));
  const registryOn = (b: BlobStore, m: MetadataStore, options: { auth?: boolean; tasks?: TaskQueue } = {}) => createRegistry({
    blobs: b, metadata: m, config,
    ...(options.auth ? { authorizer: createTokenAuthorizer({ store: identities, keys, service: 'nimbus-test', clientAddress: () => '127.0.0.1', publicUrl: () => `http://${secured.host}` }) } : {}),
    ...(options.tasks ? { tasks: options.tasks } : {}),
  });
  const diskBlobs = new FsBlobStore(join(dir, 'disk'), { fsync: false });
  const diskMetadata = new FsMetadataStore(join(dir, 'disk'), { fsync: false });
  await Promise.all([diskBlobs.init(), diskMetadata.init()]);
  const open = await serve(registryOn(blobs, stores.metadata));
  const secured = await serve(registryOn(blobs, stores.metadata, { auth: true }));
  const disk = await serve(registryOn(diskBlobs, diskMetadata));
  const worker = registryOn(blobs, stores.metadata);
  const queued: RegistryTask[] = [];
  const background = await serve(registryOn(blobs, stores.metadata, {
    tasks: { enqueue: async (task) => void queued.push(task) },
  }), (request, response) => {
    // The worker picks an upload's task up once the client has seen it verifying (a status
    // GET answered 202), so the client's wait is exercised whatever the machine's speed.
    const polled = /\/_nimbus\/direct-uploads\/([^/]+)$/.exec(new URL(request.url).pathname)?.[1];
    if (world.backgroundVerification !== 'run' || request.method !== 'GET' || response.status !== 202 || !polled) return;
    for (const task of queued.filter((entry) => entry.upload === polled)) {
      queued.splice(queued.indexOf(task), 1);
      void worker.runTask(task);
    }
  });
  const world: PushWorld = {
    dir, proxy, open, secured, disk, background, backgroundVerification: 'run',
    async addUser(name, password, grants) {
      await identities.createPrincipal({ name, kind: 'user', secretHash: await hashSecret(password), generation: randomUUID(), createdAt: new Date().toISOString() });
      await identities.setGrants(name, Object.entries(grants).map(([pattern, actions]) => ({ pattern, actions })));
    },
    async close() {
      await Promise.all([open, secured, disk, background].map((served) => served.server.close()).concat(proxy.stop()));
      presigner.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Flips one byte of a file in place: same size, other digest. */
export async function corruptByte(path: string, position: number): Promise<void> {
  const handle = await openFile(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, position);
  } finally {
    await handle.close();
  }
}
