import type { CacheDeps } from '../functions/core/index';
import type { CacheSecrets } from '../functions/core/cache/ports';
import { cliSecretVault, type AdminOptions } from './admin-endpoint';

const NO_PREFIX = 'cache credentials are secrets in Secrets Manager under the stack\'s prefix: give --stack NAME, '
  + 'or set NIMBUS_SECRET_PREFIX=nimbus/<stack name> (or go through the registry: --registry URL)';

/**
 * The pull-through cache of a deployed stack, administered on its table (`nimbus cache … --table`):
 * the rules are the table's POLICY/cache item; credentials go to Secrets Manager under the stack's
 * prefix (`nimbus/<stack>`, as infra sets NIMBUS_SECRET_PREFIX; secretPrefixOf). Without it, listing works and anything touching a secret says what to give.
 */
export async function tableCacheDeps(options: AdminOptions): Promise<CacheDeps> {
  const [vault, { VaultCacheSecrets }, { nodeUpstreamHttp }, { RegistryError }] = await Promise.all([
    cliSecretVault(options), import('../functions/adapters/aws/cache-stores'),
    import('../functions/adapters/node/upstream-http'), import('../functions/core/index'),
  ]);
  const refuse = async (): Promise<never> => {
    throw new RegistryError('UNSUPPORTED', NO_PREFIX, { status: 400 });
  };
  const secrets: CacheSecrets = vault ? new VaultCacheSecrets(vault) : { get: async () => undefined, put: refuse, delete: refuse };
  return { http: nodeUpstreamHttp(), secrets };
}
