/** The protocol core's public surface, for adapters and entry points. */
export { createRegistry, type Registry } from './app';
export type { CacheDeps, RegistryConfig, RegistryDeps } from './config';
export type * from './ports';
export type * from './records';
export type { Authorizer, AccessRequest, Action, Principal } from './access';
export { allowAll } from './access';
export * from './errors';
export { wasmHashing, WASM_STATE_PREFIX } from './hashing';
export { matchRoute, ROUTES } from './routes';
export { chunked, forEachLimited } from './concurrency';
export { referrerDescriptorOf } from './manifest/references';
