import type { Logger } from '../core/index';
import { matchRoute } from '../core/routes';
import { requestPath } from '../core/http/request-target';
import { ecsServiceScaler, type ServiceScaler } from '../adapters/aws/ecs-service';
import type { LambdaSettings } from './settings';

/** The upload endpoint's wake-up probe (functions/upload-server/upload-app.ts serves it). */
const WAKE_PATH = '/_nimbus/wake';

export interface UploadEndpointGateOptions {
  /** https://<upload endpoint>: where upload Locations point. */
  readonly origin: string;
  /** Starts the endpoint when it is scaled to zero; undefined when it always runs (dev:aws). */
  readonly scaler?: ServiceScaler;
  readonly logger: Logger;
  /** How long a POST waits for a cold endpoint before answering anyway. @default 20000 (API Gateway stops at 30 s) */
  readonly wakeBudgetMs?: number;
  /** @default 2000 */
  readonly probeIntervalMs?: number;
  /** @default 2000 */
  readonly probeTimeoutMs?: number;
  /** A successful probe is trusted this long. @default 60000 (the endpoint idles for minutes before it stops) */
  readonly awakeTtlMs?: number;
  /** At most one scale-up request per container in this window. @default 30000 */
  readonly scaleUpIntervalMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
}

/**
 * Makes sure the upload endpoint runs before an upload POST hands out a Location on it.
 * The endpoint scales to zero when idle; the first POST of a push starts it and waits for
 * it up to `wakeBudgetMs`. If it is not up by then the POST answers anyway: the client's
 * PATCH fails and docker retries the whole layer upload (after 5, 10, 15 and 20 s), each
 * retry's POST waiting again. A warm endpoint costs one cached check (no request).
 */
export class UploadEndpointGate {
  private awakeUntil = 0;
  private lastScaleUp = -Infinity;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: UploadEndpointGateOptions) {
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.fetch = options.fetch ?? fetch;
  }

  /**
   * Wraps the registry's fetch: an upload POST that opened a session (202, so the caller was
   * authorised) waits for the endpoint before its Location goes out. Mounts (201) and
   * refused requests never start it.
   */
  wrap(inner: (request: Request) => Promise<Response>): (request: Request) => Promise<Response> {
    return async (request) => {
      const uploadPost = isUploadPost(request);
      const response = await inner(request);
      if (uploadPost && response.status === 202) await this.ensureAwake();
      return response;
    };
  }

  async ensureAwake(): Promise<boolean> {
    if (this.now() < this.awakeUntil) return true;
    if (await this.probe()) return true;
    const { scaler, logger } = this.options;
    if (scaler && this.now() - this.lastScaleUp >= (this.options.scaleUpIntervalMs ?? 30_000)) {
      this.lastScaleUp = this.now();
      logger.log('info', 'upload endpoint is down: starting it');
      await scaler.setDesiredCount(1).catch((error: unknown) => logger.log('error', 'could not start the upload endpoint', { error: String(error) }));
    }
    const deadline = this.now() + (this.options.wakeBudgetMs ?? 20_000);
    while (this.now() < deadline) {
      await this.sleep(this.options.probeIntervalMs ?? 2000);
      if (await this.probe()) return true;
    }
    logger.log('warn', 'upload endpoint is not up yet; answering anyway, the client retries');
    return false;
  }

  private async probe(): Promise<boolean> {
    try {
      const response = await this.fetch(`${this.options.origin}${WAKE_PATH}`, {
        signal: AbortSignal.timeout(this.options.probeTimeoutMs ?? 2000),
        headers: { 'cache-control': 'no-cache' },
      });
      await response.body?.cancel();
      if (!response.ok) return false;
      this.awakeUntil = this.now() + (this.options.awakeTtlMs ?? 60_000);
      return true;
    } catch {
      return false;
    }
  }
}

/** POST /v2/<name>/blobs/uploads/ (a monolithic POST ?digest= answers 201, here, whole). */
function isUploadPost(request: Request): boolean {
  return request.method === 'POST' && matchRoute(requestPath(request))?.route.name === 'upload-start';
}

/**
 * How long the function holds an upload session per request: its requests end within API
 * Gateway's 30 s, so a request that died (a timeout, a crash) frees the session soon.
 */
export const LAMBDA_UPLOAD_LEASE_SECONDS = 45;

/** The gate for the configured upload endpoint, or undefined when uploads stay on the function. */
export function uploadEndpointGate(endpoint: LambdaSettings['uploadEndpoint'], logger: Logger): UploadEndpointGate | undefined {
  if (!endpoint) return undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const scaler = endpoint.ecs ? ecsServiceScaler({ region, ...endpoint.ecs }) : undefined;
  return new UploadEndpointGate({ origin: endpoint.origin, logger, ...(scaler ? { scaler } : {}) });
}
