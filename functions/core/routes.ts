import type { AccessRequest } from './access';
import type { RequestContext, RouteParams } from './context';
import { versionCheck } from './handlers/base';
import { isRepositoryName } from './names';
import { deleteBlob, getBlob } from './handlers/blobs';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests';
import { listCatalog, listTags } from './handlers/listing';
import { listReferrers } from './handlers/referrers';
import { cancelUpload, completeUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads';
import { serveUi } from './handlers/ui';
import { cancelDirectUpload, completeDirectUpload, directPartUrls, directUploadStatus, startDirectUpload } from './handlers/direct';

type Handler = (ctx: RequestContext) => Promise<Response>;

/**
 * How a route is authorized: the access the caller's credentials must grant, or
 * 'capability' for upload-session URLs, which carry their own signed capability, or 'public'
 * for the browse UI's static files, which hold no registry data.
 */
export type RouteAccess = ((params: RouteParams, query: URLSearchParams) => AccessRequest) | 'capability' | 'public';

export interface Route {
  readonly name: string;
  readonly pattern: RegExp;
  /** Handlers per method; HEAD is listed explicitly where supported. */
  readonly methods: Readonly<Record<string, { handler: Handler; access: RouteAccess }>>;
}

/**
 * A handler whose module loads with the first request it serves: administration and browse
 * routes, which the push and pull path never takes, stay out of a Lambda cold start
 * (each becomes a chunk of its own in the bundle).
 */
function lazy<Name extends string>(load: () => Promise<Record<Name, Handler>>, name: Name): Handler {
  return async (ctx) => (await load())[name](ctx);
}

const browseHandlers = () => import('./handlers/browse');
const gcHandlers = () => import('./handlers/gc');
const cacheHandlers = () => import('./handlers/cache');
const cacheFillHandlers = () => import('./handlers/cache-fill');
const policyHandlers = () => import('./handlers/policies');
const webhookHandlers = () => import('./handlers/webhooks');

/** Registry administration: a `**` grant of pull, push and delete (access.ts). */
const admin = (): AccessRequest => ({ actions: [], admin: true });
const registryWide = (actions: AccessRequest['actions']) => (): AccessRequest => ({ actions });
const onRepository = (actions: AccessRequest['actions']) => (params: RouteParams): AccessRequest => ({ repository: params.name!, actions });

/** An upload start needs push; a mount from another repository can also use pull on that one. */
function uploadStart(params: RouteParams, query: URLSearchParams): AccessRequest {
  const from = query.get('mount') === null ? null : query.get('from');
  const source = from !== null && isRepositoryName(from) && from !== params.name ? [{ repository: from, actions: ['pull' as const] }] : [];
  return { repository: params.name!, actions: ['push'], ...(source.length > 0 ? { optional: source } : {}) };
}

/**
 * The Distribution API as data, in match order. Names may contain "/", so each pattern
 * anchors on the fixed suffix; upload routes precede the blob route they overlap.
 */
export const ROUTES: readonly Route[] = [
  {
    name: 'base',
    pattern: /^\/v2\/?$/,
    methods: { GET: { handler: versionCheck, access: registryWide([]) }, HEAD: { handler: versionCheck, access: registryWide([]) } },
  },
  {
    name: 'catalog',
    pattern: /^\/v2\/_catalog$/,
    methods: { GET: { handler: listCatalog, access: registryWide(['pull']) } },
  },
  // The browse UI: static files, then the read routes it adds to the API (handlers/browse.ts).
  {
    name: 'ui',
    pattern: /^\/ui(?:\/(?<asset>[^/]*))?$/,
    methods: { GET: { handler: serveUi, access: 'public' } },
  },
  {
    name: 'browse-repositories',
    pattern: /^\/v2\/_nimbus\/repositories$/,
    methods: { GET: { handler: lazy(browseHandlers, 'searchRepositories'), access: registryWide(['pull']) } },
  },
  {
    name: 'browse-tags',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/tags$/,
    methods: { GET: { handler: lazy(browseHandlers, 'browseTags'), access: onRepository(['pull']) } },
  },
  {
    name: 'browse-summary',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/summary\/(?<digest>[^/]+)$/,
    methods: { GET: { handler: lazy(browseHandlers, 'browseManifest'), access: onRepository(['pull']) } },
  },
  {
    name: 'browse-storage',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/storage$/,
    methods: { GET: { handler: lazy(browseHandlers, 'repositoryStorage'), access: onRepository(['pull']) } },
  },
  // Nimbus administration ("_" cannot start a name component, so no repository collides).
  {
    name: 'gc',
    pattern: /^\/v2\/_nimbus\/gc\/?$/,
    methods: { POST: { handler: lazy(gcHandlers, 'runGcPass'), access: admin } },
  },
  {
    name: 'retention',
    pattern: /^\/v2\/_nimbus\/retention$/,
    methods: { GET: { handler: lazy(policyHandlers, 'getRetention'), access: admin }, PUT: { handler: lazy(policyHandlers, 'putRetention'), access: admin } },
  },
  {
    name: 'retention-run',
    pattern: /^\/v2\/_nimbus\/retention\/run$/,
    methods: { POST: { handler: lazy(policyHandlers, 'runRetentionNow'), access: admin } },
  },
  {
    name: 'immutability',
    pattern: /^\/v2\/_nimbus\/immutability$/,
    methods: { GET: { handler: lazy(policyHandlers, 'getImmutability'), access: admin }, PUT: { handler: lazy(policyHandlers, 'putImmutability'), access: admin } },
  },
  {
    name: 'webhooks',
    pattern: /^\/v2\/_nimbus\/webhooks$/,
    methods: { GET: { handler: lazy(webhookHandlers, 'listWebhooks'), access: admin }, POST: { handler: lazy(webhookHandlers, 'addWebhook'), access: admin } },
  },
  {
    name: 'webhook-deliveries',
    pattern: /^\/v2\/_nimbus\/webhooks\/deliveries$/,
    methods: { GET: { handler: lazy(webhookHandlers, 'listDeliveries'), access: admin } },
  },
  // Webhook ids are wh-<12 hex>: the pattern admits nothing else, so no id reaches a store key or a file path.
  {
    name: 'webhook',
    pattern: /^\/v2\/_nimbus\/webhooks\/(?<webhook>wh-[0-9a-f]{12})$/,
    methods: { DELETE: { handler: lazy(webhookHandlers, 'removeWebhook'), access: admin } },
  },
  {
    name: 'webhook-ping',
    pattern: /^\/v2\/_nimbus\/webhooks\/(?<webhook>wh-[0-9a-f]{12})\/ping$/,
    methods: { POST: { handler: lazy(webhookHandlers, 'pingWebhook'), access: admin } },
  },
  {
    name: 'cache',
    pattern: /^\/v2\/_nimbus\/cache$/,
    methods: {
      GET: { handler: lazy(cacheHandlers, 'listCacheRules'), access: admin }, POST: { handler: lazy(cacheHandlers, 'addCacheRule'), access: admin }, DELETE: { handler: lazy(cacheHandlers, 'removeCacheRule'), access: admin },
    },
  },
  // Pull-through cache fills on the fill host; the signed capability in the query authorises them.
  {
    name: 'cache-fill',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/fill\/(?<digest>[^/]+)$/,
    methods: { GET: { handler: lazy(cacheFillHandlers, 'fillCachedBlob'), access: 'capability' } },
  },
  {
    name: 'tags',
    pattern: /^\/v2\/(?<name>.+)\/tags\/list$/,
    methods: { GET: { handler: listTags, access: onRepository(['pull']) } },
  },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: {
      GET: { handler: getManifest, access: onRepository(['pull']) },
      HEAD: { handler: getManifest, access: onRepository(['pull']) },
      PUT: { handler: putManifest, access: onRepository(['push']) },
      DELETE: { handler: deleteManifest, access: onRepository(['delete']) },
    },
  },
  {
    name: 'upload-start',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: { POST: { handler: startUpload, access: uploadStart } },
  },
  {
    name: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<session>[^/]+)$/,
    methods: {
      GET: { handler: uploadStatus, access: 'capability' },
      PATCH: { handler: patchUpload, access: 'capability' },
      PUT: { handler: completeUpload, access: 'capability' },
      DELETE: { handler: cancelUpload, access: 'capability' },
    },
  },
  {
    name: 'blob',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: {
      GET: { handler: getBlob, access: onRepository(['pull']) },
      HEAD: { handler: getBlob, access: onRepository(['pull']) },
      DELETE: { handler: deleteBlob, access: onRepository(['delete']) },
    },
  },
  // Nimbus extension: direct-to-storage uploads ("_" cannot start a name component).
  {
    name: 'direct-upload-start',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/direct-uploads\/?$/,
    methods: { POST: { handler: startDirectUpload, access: onRepository(['push']) } },
  },
  {
    name: 'direct-upload-parts',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/direct-uploads\/(?<session>[^/]+)\/parts$/,
    methods: { GET: { handler: directPartUrls, access: onRepository(['push']) } },
  },
  {
    name: 'direct-upload',
    pattern: /^\/v2\/(?<name>.+)\/_nimbus\/direct-uploads\/(?<session>[^/]+)$/,
    methods: {
      GET: { handler: directUploadStatus, access: onRepository(['push']) },
      PUT: { handler: completeDirectUpload, access: onRepository(['push']) },
      DELETE: { handler: cancelDirectUpload, access: onRepository(['push']) },
    },
  },
  {
    name: 'referrers',
    pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/,
    methods: { GET: { handler: listReferrers, access: onRepository(['pull']) } },
  },
];

export interface RouteMatch {
  route: Route;
  params: RouteParams;
}

/**
 * Matches a path as the client sent it (http/request-target.ts). The repository name is
 * taken as is, never decoded: "%2F" must not turn one name into another, and a "%" makes
 * it invalid. References, digests and session ids are decoded (a client may escape the ":"
 * of a digest); each is then checked against a grammar that no "/" or "." trick passes.
 */
export function matchRoute(pathname: string): RouteMatch | undefined {
  for (const route of ROUTES) {
    const match = route.pattern.exec(pathname);
    if (!match) continue;
    const params: RouteParams = {};
    for (const [key, value] of Object.entries(match.groups ?? {})) {
      if (value !== undefined) params[key as keyof RouteParams] = key === 'name' ? value : safeDecode(value);
    }
    return { route, params };
  }
  return undefined;
}

/** The methods a route answers: HEAD wherever GET is (RFC 9110 §9.3.2). */
export function allowedMethods(route: Route): string[] {
  const methods = Object.keys(route.methods);
  return methods.includes('GET') && !methods.includes('HEAD') ? [...methods, 'HEAD'] : methods;
}

/** The handler for a method, HEAD falling back to GET (transports send HEAD answers without a body). */
export function routeMethod(route: Route, method: string): Route['methods'][string] | undefined {
  return route.methods[method] ?? (method === 'HEAD' ? route.methods.GET : undefined);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
