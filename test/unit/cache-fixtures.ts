import type { Authorizer } from '../../functions/core/index';
import type { CacheSecrets, UpstreamCredentials } from '../../functions/core/cache/ports';

/** Callers name themselves with x-user; only "pusher" may push (and so fill). */
export const pusherOnlyAuthorizer: Authorizer = {
  async authorize(request) {
    const user = request.headers.get('x-user');
    return user ? { subject: user } : {};
  },
  async can(principal, _repository, action) {
    return action === 'pull' || principal.subject === 'pusher';
  },
};

/** Cache rule credentials in memory. */
export function memorySecrets(): CacheSecrets {
  const map = new Map<string, UpstreamCredentials>();
  return { get: async (key) => map.get(key), put: async (key, value) => void map.set(key, value), delete: async (key) => void map.delete(key) };
}
