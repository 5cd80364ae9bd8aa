/** Methods of T that return promises: the ones a lazy stand-in can forward. */
type AsyncMethodNames<T> = { [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never }[keyof T];

/**
 * A stand-in for a service whose code is loaded on first use: a Lambda's cold start (module
 * init) does not parse it, and a request that never calls it never loads it. One load,
 * shared by every call; a failed load is tried again by the next call.
 */
export function lazyService<T, K extends AsyncMethodNames<T>>(load: () => Promise<T>, methods: readonly K[]): Pick<T, K> {
  let loading: Promise<T> | undefined;
  const service = () => (loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  }));
  const standIn: Partial<Pick<T, K>> = {};
  for (const name of methods) {
    const forward = async (...args: unknown[]) => {
      const loaded = await service();
      return (loaded[name] as (...a: unknown[]) => Promise<unknown>).apply(loaded, args);
    };
    standIn[name] = forward as T[K];
  }
  return standIn as Pick<T, K>;
}
