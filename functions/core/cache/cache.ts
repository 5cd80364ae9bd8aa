import { RegistryError } from '../errors';
import { parseDigest, type Digest } from '../digest';
import type { RequestContext } from '../context';
import type { BlobStore, Clock, Hashing, Logger, MetadataStore } from '../ports';
import type { BlobRecord, ManifestRecord } from '../records';
import type { Authorizer } from '../access';
import type { BlobLocks } from '../gc/ports';
import type { PolicyStore } from '../policy/ports';
import { CONTENT_DIGEST_HEADER } from '../http/headers';
import { emptyResponse } from '../http/responses';
import type { CacheMarks, CacheSecrets, FillLeases, UpstreamHttp } from './ports';
import { matchCacheRule, parseCacheRules, type CacheMatch, type CacheRulesDocument } from './rules';
import { UpstreamClient, UpstreamUnavailableError } from './upstream';
import { fillManifest, headUpstreamTag, type ManifestFillDeps } from './manifest-fill';
import { startBlobFill, type BlobFillDeps } from './blob-fill';
import { SingleFlight } from './single-flight';
import { linkStoredBlob } from '../keyed-lock';
import { fillShared } from './shared-fill';

export interface PullThroughCacheDeps {
  policies: PolicyStore;
  secrets: CacheSecrets | undefined;
  marks: CacheMarks;
  http: UpstreamHttp;
  blobs: BlobStore;
  metadata: MetadataStore;
  hashing: Hashing;
  clock: Clock;
  logger: Logger;
  authorizer: Authorizer;
  blobLocks: BlobLocks | undefined;
  maxManifestBytes: number;
  /** A cached tag is checked upstream (HEAD) at most this often; digests never are. */
  tagRecheckSeconds: number;
  /** `store-first`: a fill answers once stored (no streaming through the host). */
  blobFills: 'stream' | 'store-first';
  maxBlobFillBytes: number | undefined;
  /**
   * Blob fills happen on another host (the upload endpoint on AWS): a miss answers 307 to the URL
   * this gives, which carries a signed capability. undefined: fills happen here.
   */
  fillRedirect: ((repository: string, digest: string, subject: string | undefined) => Promise<string>) | undefined;
  /** Single flight across processes (lease per blob), with its timings. */
  fillLeases: { leases: FillLeases; leaseMs: number; waitMs: number } | undefined;
}

type ManifestReference = { kind: 'digest'; digest: string } | { kind: 'tag'; tag: string };

/**
 * The pull-through cache (issue 15): on a miss in a repository a cache rule covers, fetch from
 * the upstream, store, and serve. Pulls are authorised as always (the route's pull); a miss
 * fills only for principals with push on the repository, unless the rule opens fills.
 * One fill per tag, manifest digest and blob at a time (single flight), in this process.
 */
export class PullThroughCache {
  readonly upstream: UpstreamClient;
  private readonly manifestFlights = new SingleFlight<ManifestRecord | undefined>();
  private readonly blobFlights = new SingleFlight<BlobRecord>();
  /** When each cached tag was last confirmed upstream, as this process knows: `<repository>:<tag>` → epoch ms. */
  private readonly checked = new Map<string, number>();

  constructor(private readonly deps: PullThroughCacheDeps) {
    this.upstream = new UpstreamClient({ http: deps.http, secrets: deps.secrets, clock: deps.clock });
  }

  async rules(): Promise<CacheRulesDocument | undefined> {
    const stored = await this.deps.policies.get('cache');
    return stored ? parseCacheRules(stored.document) : undefined;
  }

  async match(repository: string): Promise<CacheMatch | undefined> {
    return matchCacheRule(await this.rules(), repository);
  }

  /**
   * Refuses a push (upload start, manifest PUT) into a repository a prefix rule covers: every tag
   * there follows its upstream, so the next recheck would overwrite what was pushed. Fills store
   * through the stores, not these routes, and are unaffected. The root mirror's repositories
   * take pushes: it never moves a tag it did not fill.
   */
  async refusePush(repository: string): Promise<void> {
    const match = await this.match(repository);
    if (!match || match.rule.prefix === '') return;
    throw new RegistryError('DENIED', `${repository} mirrors ${match.rule.upstream} (cache rule "${match.rule.prefix}"): its tags follow the upstream and `
      + `a push would be overwritten; push to a repository outside ${match.rule.prefix}/`, { detail: { repository, cacheRule: match.rule.prefix } });
  }

  /**
   * The manifest to serve for a pull, given what is stored (`local`): undefined when no rule
   * covers the repository or there is nothing to add. A stale tag is rechecked upstream; when
   * the upstream is down or rate-limiting, the stored copy is served and a warning logged.
   */
  async manifest(ctx: RequestContext, repository: string, reference: ManifestReference, local: ManifestRecord | undefined): Promise<ManifestRecord | undefined> {
    if (reference.kind === 'digest' && local) return undefined;
    const key = reference.kind === 'tag' ? `${repository}:${reference.tag}` : undefined;
    const match = await this.covering(repository, key !== undefined && local !== undefined ? key : undefined);
    if (!match || !(await this.mayFill(ctx, match, repository))) return undefined;
    if (reference.kind === 'digest') {
      const fill = () => fillManifest(this.fillDeps(), match, repository, { digest: reference.digest });
      return this.manifestFlights.run(`${repository}@${reference.digest}`, fill).catch((error: unknown) => {
        throw error instanceof UpstreamUnavailableError ? unavailable(error) : error;
      });
    }
    if (local && await this.checkedRecently(key!)) return undefined;
    try {
      return await this.manifestFlights.run(key!, () => this.refreshTag(match, repository, reference.tag, local));
    } catch (error) {
      if (!(error instanceof UpstreamUnavailableError)) throw error;
      if (local) {
        this.deps.logger.log('warn', 'cache upstream unavailable: serving the cached copy', {
          repository, tag: reference.tag, digest: local.digest, upstream: match.rule.upstream, reason: error.reason,
        });
        return local;
      }
      throw unavailable(error);
    }
  }

  private async refreshTag(match: CacheMatch, repository: string, tag: string, local: ManifestRecord | undefined): Promise<ManifestRecord | undefined> {
    const key = `${repository}:${tag}`;
    if (local) {
      const upstream = await headUpstreamTag(this.fillDeps(), match, tag);
      if (upstream === local.digest || upstream === 'missing') {
        if (upstream === 'missing') this.deps.logger.log('info', 'cache: tag gone upstream, serving the cached copy', { repository, tag, upstream: match.rule.upstream });
        await this.recordChecked(key);
        return local;
      }
    }
    const record = await fillManifest(this.fillDeps(), match, repository, { tag });
    if (record) {
      await this.recordChecked(key);
      if (match.rule.prefix === '') await this.deps.marks.markFilled(key);
    }
    return record ?? local;
  }

  /**
   * Whether a cached tag was confirmed upstream within the recheck interval: by this process, or
   * (its memory stale, e.g. after a restart or on another Lambda instance) by the durable record.
   * A store that fails to answer means "recheck", never a failed pull.
   */
  private async checkedRecently(key: string): Promise<boolean> {
    const intervalMs = this.deps.tagRecheckSeconds * 1000;
    if (intervalMs <= 0) return false;
    const fresh = (at: number | undefined) => at !== undefined && this.deps.clock.now() - at < intervalMs;
    if (fresh(this.checked.get(key))) return true;
    const stored = await this.deps.marks.checkedAt(key).catch((error: unknown) => {
      this.deps.logger.log('warn', 'cache: reading a tag\'s last check failed; rechecking it', { tag: key, error: String(error) });
      return undefined;
    });
    if (stored === undefined) return false;
    this.checked.set(key, stored);
    return fresh(stored);
  }

  /** Remembers that a tag was confirmed now, here and durably (best effort: at worst one more HEAD). */
  private async recordChecked(key: string): Promise<void> {
    const now = this.deps.clock.now();
    this.checked.set(key, now);
    if (this.deps.tagRecheckSeconds <= 0) return;
    await this.deps.marks.markChecked(key, now).catch((error: unknown) => {
      this.deps.logger.log('warn', 'cache: recording a tag\'s check time failed', { tag: key, error: String(error) });
    });
  }

  /**
   * A blob this repository does not link: filled from upstream and streamed to the first
   * requester (others wait for the stored copy), a Response for HEAD from the upstream's answer,
   * or a blob stored already for another repository, linked once the upstream confirms this
   * repository has it. With a fill host (fillRedirect), a miss answers 307 there instead.
   * undefined when no rule covers the repository or the caller may not fill.
   */
  async blob(ctx: RequestContext, repository: string, digestText: string | undefined): Promise<Response | BlobRecord | undefined> {
    const digest = parseDigest(digestText);
    // Filling a blob overwrites nothing: the root mirror may fill one in any repository.
    const match = await this.match(repository);
    if (!match || !(await this.mayFill(ctx, match, repository))) return undefined;
    const key = `${repository}@${digest.value}`;
    try {
      const running = this.blobFlights.get(key);
      if (running) return await running;
      const existing = await this.deps.metadata.getBlob(digest.value);
      if (existing || ctx.request.method === 'HEAD') {
        const head = await this.upstream.request(match.rule, match.upstreamRepository, `blobs/${digest.value}`, 'HEAD');
        await head.body?.cancel();
        if (head.status !== 200) return undefined;
        if (!existing) return emptyResponse(200, headOnly(digest.value, head));
        // Linked under the blob's lock: collection may have deleted it since the look, and then it is fetched.
        const linked = await linkStoredBlob(this.deps.blobLocks, this.deps.metadata, repository, digest.value);
        if (linked) return linked;
        if (ctx.request.method === 'HEAD') return emptyResponse(200, headOnly(digest.value, head));
      }
      const redirect = this.deps.fillRedirect;
      if (redirect) return emptyResponse(307, { Location: await redirect(repository, digest.value, ctx.principal.subject), 'Cache-Control': 'no-store' });
    } catch (error) {
      throw this.fillError(error, match, repository, digest.value);
    }
    return this.fill(ctx, match, repository, digest);
  }

  /**
   * Fills a blob (the fill host's entry, which the registry sent the requester to, after the
   * registry decided it may fill): streamed to the first requester as it arrives, unless the host
   * answers only once stored; others wait for the stored copy.
   */
  async fill(ctx: RequestContext, match: CacheMatch, repository: string, digest: Digest): Promise<Response | BlobRecord> {
    const key = `${repository}@${digest.value}`;
    try {
      let started!: (response: Response) => void;
      const leader = new Promise<Response>((resolve) => { started = resolve; });
      // When another request started this fill meanwhile, ours never runs and `stored` is theirs.
      const fillHere = async () => {
        const fill = await startBlobFill(this.fillDeps(), match, repository, digest);
        started(fill.response);
        return fill.stored;
      };
      const shared = this.deps.fillLeases;
      const stored = this.blobFlights.run(key, shared
        ? () => fillShared({ ...shared, metadata: this.deps.metadata, clock: this.deps.clock }, repository, digest.value, fillHere)
        : fillHere);
      // A Range request waits for the stored copy; a whole GET streams as the bytes arrive (unless the host cannot).
      if (ctx.request.headers.get('range') !== null || this.deps.blobFills === 'store-first') return await stored;
      stored.catch((error: unknown) => this.deps.logger.log('warn', 'cache blob fill failed', { repository, digest: digest.value, error: String(error) }));
      return await Promise.race([leader, stored]);
    } catch (error) {
      throw this.fillError(error, match, repository, digest.value);
    }
  }

  private fillError(error: unknown, match: CacheMatch, repository: string, digest: string): unknown {
    if (error instanceof UpstreamUnavailableError) return unavailable(error);
    if (error instanceof RegistryError) return error;
    // The upstream's transfer broke off (or storage failed): retryable, and nothing was stored.
    this.deps.logger.log('warn', 'cache blob fill failed', { repository, digest, error: String(error) });
    return new RegistryError('UNAVAILABLE', `filling blob ${digest} from upstream ${match.rule.upstream} failed; nothing was stored, retry`);
  }

  /**
   * The rule that may act on a pull. The root mirror covers every repository no prefix rule does,
   * so a stored tag (`storedTag`) it did not fill is a tag people pushed: it is never rechecked or
   * moved from upstream.
   */
  private async covering(repository: string, storedTag: string | undefined): Promise<CacheMatch | undefined> {
    const match = await this.match(repository);
    if (match?.rule.prefix === '' && storedTag !== undefined && !(await this.deps.marks.isFilled(storedTag))) return undefined;
    return match;
  }

  private async mayFill(ctx: RequestContext, match: CacheMatch, repository: string): Promise<boolean> {
    if (match.rule.openFills === true) return true;
    const { authorizer } = this.deps;
    // Push rights as granted, not as the pull's token scoped them.
    return authorizer.holds ? authorizer.holds(ctx.principal, repository, 'push') : authorizer.can(ctx.principal, repository, 'push');
  }

  private fillDeps(): ManifestFillDeps & BlobFillDeps {
    const { metadata, blobs, hashing, clock, logger, blobLocks, maxManifestBytes } = this.deps;
    return { metadata, blobs, hashing, clock, logger, blobLocks, maxManifestBytes, upstream: this.upstream, maxBlobBytes: this.deps.maxBlobFillBytes };
  }
}

function headOnly(digest: string, head: Response): Record<string, string> {
  const length = head.headers.get('content-length');
  return {
    'Content-Type': 'application/octet-stream', [CONTENT_DIGEST_HEADER]: digest, ETag: `"${digest}"`,
    ...(length !== null && /^\d+$/.test(length) ? { 'Content-Length': length } : {}),
  };
}

function unavailable(error: UpstreamUnavailableError): RegistryError {
  const limited = /HTTP 429/.test(error.reason);
  return new RegistryError(limited ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', `${error.message}, and nothing is cached for this request`, {
    ...(error.retryAfter ? { headers: { 'Retry-After': error.retryAfter } } : {}),
  });
}
