import type { Logger } from '../core/index';
import type { ServiceScaler } from '../adapters/aws/ecs-service';
import type { IdleMonitor } from './idle-monitor';

/** What the wake probe answers: `upForMs` is how long this task promises not to stop on its own. */
export interface WakeAnswer {
  ready: boolean;
  state: 'serving' | 'stopping' | 'draining';
  upForMs?: number;
}

export interface IdleShutdownOptions {
  readonly idle: IdleMonitor;
  /** The ECS service's desired count (UpdateService). */
  readonly scaler: ServiceScaler;
  /** Quiet time after which the task scales its service to zero. */
  readonly idleMs: number;
  readonly logger: Logger;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Scale to zero that can get stuck neither off nor on, when a wake races the stop.
 *
 * Actors: this task (decides it is idle, sets the desired count to 0); the registry
 * function (probes /_nimbus/wake before handing out a Location, trusts an answer for a
 * while, sets the desired count to 1 when the probe fails); ECS (applies UpdateService
 * calls in the order they land; on 0 it deregisters the task and sends SIGTERM).
 *
 * - No Location to a dying task: from the moment the task decides to stop, its wake probe
 *   answers 503, so the function neither trusts it nor hands out a Location on it; it starts
 *   the service and waits. While serving, the probe says how long the task will stay up at
 *   least (the idle window: the probe itself counts as activity), and the function trusts it
 *   for half of that at most, so a trusted "awake" always ends before the task can decide
 *   it is idle.
 * - Never stuck off: any request or probe that reaches the task after its decision makes it
 *   set the desired count back to 1, after its own "0" has landed. A probe that does not reach
 *   it came after ECS acted on that 0, and the function's own "1" lands after it. Either way
 *   the last count written is 1. A failed "1" is retried at every check until it lands.
 * - Never stuck on: the task asks for 1 only when something happened after its decision;
 *   it then serves, and idles out again later. A task still running an idle window after
 *   its "0" (someone else's "1" landed before ECS acted on it) serves again and decides anew.
 * - Nothing in flight is cut: the task decides only when no request is in flight, and
 *   SIGTERM (drain()) lets requests in flight finish while the probe answers 503.
 */
export class IdleShutdown {
  private state: WakeAnswer['state'] = 'serving';
  /** Activity count when the task decided to stop. */
  private decidedAt = 0;
  private stoppingSince = 0;
  private stopInFlight = false;
  private restartWanted = false;

  constructor(private readonly options: IdleShutdownOptions) {
    options.idle.onActivity(() => void this.reconsider());
  }

  /** Runs on a timer: stops an idle task, or retries a restart that failed. */
  async check(): Promise<void> {
    if (this.restartWanted) return this.restart();
    const { scaler, logger, idleMs } = this.options;
    const now = (this.options.now ?? Date.now)();
    if (this.state === 'stopping' && !this.stopInFlight && now - this.stoppingSince >= idleMs) this.state = 'serving';
    if (this.state !== 'serving' || !this.options.idle.isIdle(idleMs)) return;
    this.state = 'stopping';
    this.stoppingSince = now;
    this.decidedAt = this.options.idle.activity;
    this.stopInFlight = true;
    logger.log('info', 'idle: scaling the upload endpoint to zero', { idleMinutes: idleMs / 60_000 });
    try {
      await scaler.setDesiredCount(0);
    } catch (error) {
      this.state = 'serving'; // tried again at the next check
      logger.log('warn', 'could not scale the upload endpoint to zero', { error: String(error) });
      return;
    } finally {
      this.stopInFlight = false;
    }
    await this.reconsider();
  }

  /** SIGTERM: ECS is stopping this task. Requests in flight finish; nothing new is promised. */
  drain(): void {
    this.state = 'draining';
    this.restartWanted = false;
  }

  /** What the wake probe answers now (the probe's activity is already counted). */
  wakeAnswer(): WakeAnswer {
    if (this.state !== 'serving') return { ready: false, state: this.state };
    return { ready: true, state: 'serving', upForMs: this.options.idleMs };
  }

  /** After the stop was asked for: if anything happened since the decision, ask for the task back. */
  private async reconsider(): Promise<void> {
    if (this.state !== 'stopping' || this.stopInFlight || this.restartWanted) return;
    if (this.options.idle.activity === this.decidedAt) return;
    this.restartWanted = true;
    await this.restart();
  }

  private async restart(): Promise<void> {
    if (this.state === 'draining') return;
    try {
      await this.options.scaler.setDesiredCount(1);
    } catch (error) {
      this.options.logger.log('warn', 'could not scale the upload endpoint back up; retrying at the next check', { error: String(error) });
      return;
    }
    if (!this.restartWanted) return;
    this.restartWanted = false;
    if (this.state === 'stopping') this.state = 'serving';
    this.options.logger.log('info', 'woken while stopping: the upload endpoint stays up');
  }
}
