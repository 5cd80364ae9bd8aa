/**
 * Knows whether the upload endpoint is idle: no request in flight and none for a while.
 * The server scales its own ECS service to zero when it is (idle-shutdown.ts; the registry
 * function wakes it again on the next upload POST). A long PATCH is one request in flight,
 * so an upload that streams for an hour never looks idle.
 */
export class IdleMonitor {
  private inFlight = 0;
  private lastActivity: number;
  private events = 0;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {
    this.lastActivity = now();
  }

  /** Counts every request and probe so far: a different value means something happened in between. */
  get activity(): number {
    return this.events;
  }

  /** Marks activity without a request (a wake-up probe). */
  touch(): void {
    this.lastActivity = this.now();
    this.events++;
    for (const listener of this.listeners) listener();
  }

  /** Counts a request in flight until the returned function is called. */
  begin(): () => void {
    this.inFlight++;
    this.touch();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      this.touch();
    };
  }

  /** Calls `listener` on every activity. */
  onActivity(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Whether nothing has happened for `idleMs` and nothing is happening now. */
  isIdle(idleMs: number): boolean {
    return this.inFlight === 0 && this.now() - this.lastActivity >= idleMs;
  }
}
