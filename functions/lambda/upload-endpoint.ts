import type { Logger } from '../core/index';
import { matchRoute } from '../core/routes';
import { requestPath } from '../core/http/request-target';
import type { EcsServiceOptions, ServiceScaler } from '../adapters/aws/ecs-service';
import { API_GATEWAY_TIMEOUT_MS } from '../adapters/apigw/limits';
import type { LambdaSettings } from './settings';

/** The upload endpoint's wake-up probe (functions/upload-server/upload-app.ts serves it). */
const WAKE_PATH = '/_nimbus/wake';
/** Kept free at the end of the invocation for the answer to travel back through API Gateway. */
export const ANSWER_MARGIN_MS = 1500;

export interface UploadEndpointGateOptions {
  /** https://<upload endpoint>: where upload Locations point. */
  readonly origin: string;
  /** Starts the endpoint when it is scaled to zero; undefined when it always runs (dev:aws). */
  readonly scaler?: ServiceScaler;
  readonly logger: Logger;
  /** @default 2000 */
  readonly probeIntervalMs?: number;
  /** @default 2000 */
  readonly probeTimeoutMs?: number;
  /**
   * A successful probe is trusted this long, or for half the time the endpoint says it stays
   * up (its idle window), whichever is shorter. @default 60000
   */
  readonly awakeTtlMs?: number;
  /** At most one scale-up request per container in this window. @default 30000 */
  readonly scaleUpIntervalMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly fetch?: typeof fetch;
  /** @default AbortSignal.timeout */
  readonly timeoutSignal?: (ms: number) => AbortSignal;
}

/** What the invocation knows about how long it may take. */
export interface InvocationTiming {
  /** Epoch ms when the handler was invoked. */
  readonly invokedAt: number;
  /** The Lambda context's getRemainingTimeInMillis() at that moment. */
  readonly remainingMs: number;
  /** Epoch ms when API Gateway received the request (requestContext.timeEpoch), if known. */
  readonly receivedAt?: number;
}

/**
 * When an upload POST must stop waiting for a cold endpoint: before the function times out
 * and before API Gateway gives up (30 s after it received the request), whichever comes
 * first, with room left to answer.
 */
export function wakeDeadline(timing: InvocationTiming): number {
  const received = timing.receivedAt !== undefined && timing.receivedAt <= timing.invokedAt ? timing.receivedAt : timing.invokedAt;
  return Math.min(timing.invokedAt + timing.remainingMs, received + API_GATEWAY_TIMEOUT_MS) - ANSWER_MARGIN_MS;
}

/**
 * Makes sure the upload endpoint runs before an upload POST hands out a Location on it.
 * The endpoint scales to zero when idle; the first POST of a push starts it and waits for
 * it until the invocation's deadline. If it is not up by then the POST answers anyway: the
 * client's PATCH fails and docker retries the whole layer upload (after 5, 10, 15 and 20 s),
 * each retry's POST waiting again. A warm endpoint costs one cached check (no request).
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
   * Wraps the registry's fetch for one invocation: an upload POST that opened a session
   * (202, so the caller was authorised) waits for the endpoint, until `deadline`, before
   * its Location goes out. Mounts (201) and refused requests never start it.
   */
  wrap(inner: (request: Request) => Promise<Response>, deadline: number): (request: Request) => Promise<Response> {
    return async (request) => {
      const uploadPost = isUploadPost(request);
      const response = await inner(request);
      // A cache fill redirected to the endpoint (a blob miss the caller may fill) needs it up too.
      const fill = response.status === 307 && response.headers.get('location')?.startsWith(`${this.options.origin}/`) === true;
      if ((uploadPost && response.status === 202) || fill) await this.ensureAwake(deadline);
      return response;
    };
  }

  async ensureAwake(deadline: number): Promise<boolean> {
    if (this.now() < this.awakeUntil) return true;
    if (await this.probe(deadline)) return true;
    const { scaler, logger } = this.options;
    if (scaler && this.now() - this.lastScaleUp >= (this.options.scaleUpIntervalMs ?? 30_000)) {
      this.lastScaleUp = this.now();
      logger.log('info', 'upload endpoint is down: starting it');
      await scaler.setDesiredCount(1).catch((error: unknown) => logger.log('error', 'could not start the upload endpoint', { error: String(error) }));
    }
    const interval = this.options.probeIntervalMs ?? 2000;
    while (this.now() + interval < deadline) {
      await this.sleep(interval);
      if (await this.probe(deadline)) return true;
    }
    logger.log('warn', 'upload endpoint is not up yet; answering anyway, the client retries');
    return false;
  }

  private async probe(deadline: number): Promise<boolean> {
    const timeout = Math.min(this.options.probeTimeoutMs ?? 2000, deadline - this.now());
    if (timeout <= 0) return false;
    try {
      const response = await this.fetch(`${this.options.origin}${WAKE_PATH}`, {
        signal: (this.options.timeoutSignal ?? AbortSignal.timeout)(timeout),
        headers: { 'cache-control': 'no-cache' },
      });
      const answer = await response.json().catch(() => undefined) as { upForMs?: unknown } | undefined;
      if (!response.ok) return false;
      // Never trust "awake" longer than the endpoint promises to stay up: a Location handed out
      // later could reach a task that has scaled itself to zero meanwhile.
      const upFor = typeof answer?.upForMs === 'number' && answer.upForMs > 0 ? answer.upForMs / 2 : Infinity;
      this.awakeUntil = this.now() + Math.min(this.options.awakeTtlMs ?? 60_000, upFor);
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
 * The function's lease on an upload session per request, renewed by heartbeats while the
 * request runs (core/upload/lease.ts): a request killed by a timeout or a crash frees the
 * session within 15 s, as on the upload endpoint.
 */
export const LAMBDA_UPLOAD_LEASE_SECONDS = 15;

/** The gate for the configured upload endpoint, or undefined when uploads stay on the function. */
export function uploadEndpointGate(endpoint: LambdaSettings['uploadEndpoint'], logger: Logger): UploadEndpointGate | undefined {
  if (!endpoint) return undefined;
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const scaler = endpoint.ecs ? lazyEcsScaler({ region, ...endpoint.ecs }) : undefined;
  return new UploadEndpointGate({ origin: endpoint.origin, logger, ...(scaler ? { scaler } : {}) });
}

/** The ECS client loads with the first wake, not during the cold start: most requests never wake the endpoint. */
function lazyEcsScaler(options: EcsServiceOptions): ServiceScaler {
  let scaler: Promise<ServiceScaler> | undefined;
  return {
    async setDesiredCount(count) {
      scaler ??= import('../adapters/aws/ecs-service').then((module) => module.ecsServiceScaler(options));
      await (await scaler).setDesiredCount(count);
    },
  };
}
