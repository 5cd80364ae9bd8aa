/**
 * The two hash-wasm hashers the registry uses, as a module of their own: hashing.ts loads it
 * with `await import()`, and a dynamic import of 'hash-wasm' itself would keep every one of
 * its algorithms in the bundle.
 */
export { createSHA256, createSHA512 } from 'hash-wasm';
