import { allowAll } from './access';
import { CapabilitySigner } from './capability';
import { resolveConfig, type RegistryDeps } from './config';
import type { RequestContext, Services } from './context';
import { RegistryError } from './errors';
import { wasmHashing } from './hashing';
import { errorResponse } from './http/responses';
import { checkRequestPath, requestPath } from './http/request-target';
import { isSessionId, parseRepositoryName } from './names';
import { allowedMethods, matchRoute, routeMethod } from './routes';
import { Uploads } from './upload/uploads';
import { lazyService } from './lazy-service';
import { recentPolicies } from './policy/recent-policies';
import type { RegistryTask, Timers } from './ports';
import { serialGc } from './gc/serial';
import { lazyCache } from './cache/lazy';

/** How long a fill link (a blob GET's redirect to the fill host) is valid: clients follow it at once. */
const FILL_LINK_SECONDS = 300;

export interface Registry {
  /** Serves one Distribution API request. Never throws: every failure becomes a spec error. */
  fetch(request: Request): Promise<Response>;
  /** Runs background work handed to the task queue (in a worker Lambda, or in-process). */
  runTask(task: RegistryTask): Promise<void>;
  readonly services: Services;
}

const silent = { log() {} };
const systemClock = { now: () => Date.now() };
const systemTimers: Timers = {
  every(ms, tick) {
    const handle = setInterval(tick, ms);
    (handle as { unref?: () => void }).unref?.();
    return { cancel: () => clearInterval(handle) };
  },
};

export function createRegistry(deps: RegistryDeps): Registry {
  const config = resolveConfig(deps.config);
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const logger = deps.logger ?? silent;
  const hashing = deps.hashing ?? wasmHashing;
  const services: Services = {
    blobs: deps.blobs,
    metadata: deps.metadata,
    hashing,
    clock,
    logger,
    config,
    authorizer: deps.authorizer ?? allowAll,
    policies: deps.policies && deps.cache?.rulesCacheSeconds ? recentPolicies(deps.policies, ['cache'], deps.cache.rulesCacheSeconds * 1000, clock) : deps.policies,
    inventory: deps.inventory,
    signer: new CapabilitySigner(config.uploadSecret),
    uploads: new Uploads({ blobs: deps.blobs, metadata: deps.metadata, hashing, clock, timers, logger, config, blobLocks: deps.blobLocks }),
    // Direct uploads (`nimbus push`) load on first use: most requests never touch them.
    direct: lazyService(async () => new (await import('./direct/direct-uploads')).DirectUploads({
      blobs: deps.blobs, metadata: deps.metadata, hashing, clock, timers, logger, config, tasks: deps.tasks, blobLocks: deps.blobLocks,
    }), ['start', 'load', 'partUrls', 'complete', 'refresh', 'verify', 'cancel']),
    ...(deps.gc ? { gc: serialGc({ gc: deps.gc, metadata: deps.metadata, clock, logger, ...(deps.events ? { events: deps.events } : {}) }) } : {}),
    ...(deps.blobLocks ? { blobLocks: deps.blobLocks } : {}),
    ...(deps.events ? { events: deps.events } : {}),
  };
  if (deps.cache && services.policies) {
    services.cacheSecrets = deps.cache.secrets;
    const cacheDeps = deps.cache;
    const policies = services.policies;
    services.cache = lazyCache(async () => {
      const [{ PullThroughCache }, { memoryCacheMarks }, { fillLinks }] = await Promise.all([
        import('./cache/cache'), import('./cache/ports'), import('./cache/fill-link'),
      ]);
      return new PullThroughCache({
        policies, secrets: cacheDeps.secrets, marks: cacheDeps.marks ?? memoryCacheMarks(), http: cacheDeps.http, blobs: deps.blobs, metadata: deps.metadata, hashing, clock, logger,
        authorizer: services.authorizer, blobLocks: deps.blobLocks, maxManifestBytes: config.maxManifestBytes, tagRecheckSeconds: cacheDeps.tagRecheckSeconds ?? 3600,
        blobFills: cacheDeps.blobFills ?? 'stream', maxBlobFillBytes: cacheDeps.maxBlobFillBytes,
        fillRedirect: cacheDeps.fillOrigin ? fillLinks(cacheDeps.fillOrigin, services.signer, clock, FILL_LINK_SECONDS) : undefined,
        fillLeases: cacheDeps.fillLeases && { leases: cacheDeps.fillLeases, leaseMs: (cacheDeps.fillLeaseSeconds ?? 900) * 1000, waitMs: (cacheDeps.fillWaitSeconds ?? 600) * 1000 },
      });
    });
  }

  async function dispatch(request: Request, requestId: string): Promise<Response> {
    // Before anything reads the URL: its path may have been resolved into another one.
    const path = requestPath(request);
    checkRequestPath(path);
    const own = await services.authorizer.handle?.(request);
    if (own) return own;
    const url = new URL(request.url);
    const match = matchRoute(path);
    if (!match) throw new RegistryError('UNSUPPORTED', `no such endpoint: ${request.method} ${path.slice(0, 200)}`, { status: 404 });
    const method = routeMethod(match.route, request.method);
    if (!method) {
      throw new RegistryError('UNSUPPORTED', `${request.method.slice(0, 32)} is not supported on ${match.route.name} endpoints`, {
        status: 405, headers: { Allow: allowedMethods(match.route).join(', ') },
      });
    }
    if (match.params.name !== undefined) parseRepositoryName(match.params.name);
    if (match.params.session !== undefined && !isSessionId(match.params.session)) {
      // Session ids are UUIDs; anything else names no session, and must not reach a store key or a file path.
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'no such upload session', { detail: { session: match.params.session.slice(0, 64) } });
    }
    const ctx: RequestContext = { request, url, requestId, params: match.params, principal: {}, services };
    if (method.access !== 'capability' && method.access !== 'public') {
      ctx.principal = await services.authorizer.authorize(request, method.access(match.params, url.searchParams));
    }
    return method.handler(ctx);
  }

  return {
    services,
    async runTask(task) {
      if (task.type === 'verify-direct-upload') await services.direct.verify(task.upload);
    },
    async fetch(request) {
      const requestId = request.headers.get('x-request-id') ?? crypto.randomUUID();
      try {
        return await dispatch(request, requestId);
      } catch (error) {
        return errorResponse(error, logger, requestId);
      }
    },
  };
}
