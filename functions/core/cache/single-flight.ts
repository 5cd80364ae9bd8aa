/**
 * One piece of work per key at a time: callers that ask while it runs share its result. The
 * key is forgotten once the work settles, so a failure is retried by the next caller.
 */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** The work in flight for `key`, if any. */
  get(key: string): Promise<T> | undefined {
    return this.running.get(key);
  }

  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = work().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return promise;
  }
}
