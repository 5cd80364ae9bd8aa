import { RegistryError, type Registry } from '../core/index';
import { matchRoute } from '../core/routes';
import { errorResponse } from '../core/http/responses';
import { requestPath } from '../core/http/request-target';
import type { IdleMonitor } from './idle-monitor';
import type { WakeAnswer } from './idle-shutdown';

/** Load balancer health checks: do not count as activity. */
export const HEALTH_PATH = '/healthz';
/**
 * The registry function's wake-up probe: counts as activity, so the endpoint stays up for
 * the push. 503 while the task is stopping (idle-shutdown.ts): no Location may point at it.
 */
export const WAKE_PATH = '/_nimbus/wake';

const ALWAYS_SERVING = (): WakeAnswer => ({ ready: true, state: 'serving' });

const silent = { log() {} };

/**
 * The upload endpoint's request handling: the registry's upload-session routes (PATCH, PUT,
 * GET, DELETE on an upload Location, authorised by its signed capability), pull-through cache
 * fills (GET on a fill link, authorised the same way) and the two probes. Every other route answers 404 in the spec's JSON: pulls, manifests and upload
 * POSTs stay on the registry function.
 */
export function uploadEndpointFetch(registry: Registry, idle: IdleMonitor, wake: () => WakeAnswer = ALWAYS_SERVING): (request: Request) => Promise<Response> {
  return async (request) => {
    const pathname = requestPath(request);
    if (pathname === HEALTH_PATH) return Response.json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } });
    if (pathname === WAKE_PATH) {
      idle.touch();
      const answer = wake();
      const body = { status: answer.ready ? 'ok' : answer.state, ...(answer.upForMs !== undefined ? { upForMs: answer.upForMs } : {}) };
      return Response.json(body, { status: answer.ready ? 200 : 503, headers: { 'cache-control': 'no-store' } });
    }
    const route = matchRoute(pathname)?.route.name;
    if (route !== 'upload' && route !== 'cache-fill') {
      const requestId = request.headers.get('x-request-id') ?? crypto.randomUUID();
      return errorResponse(new RegistryError('UNSUPPORTED', 'this host serves upload sessions only; use the registry\'s own host for everything else', { status: 404 }), silent, requestId);
    }
    const done = idle.begin();
    try {
      return await registry.fetch(request);
    } finally {
      done();
    }
  };
}
