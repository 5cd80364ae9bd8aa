/**
 * Fault injection for store ports: `faults.fail('writePart', error, { skip: 1 })` makes the
 * second call of writePart from now on reject with `error` (once), before it reaches the
 * store, so the store's state is exactly what it was.
 */
export interface Faults {
  fail(method: string, error: Error, options?: { skip?: number; times?: number }): void;
  /** Calls of each method so far. */
  readonly calls: Map<string, number>;
  clear(): void;
}

export function withFaults<T extends object>(target: T): { store: T; faults: Faults } {
  const plans = new Map<string, { skip: number; times: number; error: Error }>();
  const calls = new Map<string, number>();
  const store = new Proxy(target, {
    get(object, property, receiver) {
      const value = Reflect.get(object, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls.set(property, (calls.get(property) ?? 0) + 1);
        const plan = plans.get(property);
        if (plan) {
          if (plan.skip > 0) plan.skip--;
          else {
            if (--plan.times <= 0) plans.delete(property);
            return Promise.reject(plan.error);
          }
        }
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
  return {
    store,
    faults: {
      fail(method, error, options = {}) {
        plans.set(method, { skip: options.skip ?? 0, times: options.times ?? 1, error });
      },
      calls,
      clear() {
        plans.clear();
      },
    },
  };
}
