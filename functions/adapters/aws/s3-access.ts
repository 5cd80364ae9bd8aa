import type { S3Client } from '@aws-sdk/client-s3';

/** The S3 SDK as the adapters use it (s3-sdk.ts). */
export type S3Sdk = typeof import('./s3-sdk');

/** An S3 client, or how to create one on first use (lazy-stores.ts: the registry function). */
export type S3Source = S3Client | (() => Promise<S3Client>);

/** The client and the SDK, both loaded by the first call and shared by the later ones. */
export type S3Access = () => Promise<{ s3: S3Client; sdk: S3Sdk }>;

/**
 * Access to S3 for an adapter: the S3 SDK is imported on first use, never at module load, so
 * a bundle splits it into a chunk a request loads only when it touches S3. A failed load is
 * forgotten, so the next call tries again.
 */
export function s3Access(source: S3Source): S3Access {
  let loaded: Promise<{ s3: S3Client; sdk: S3Sdk }> | undefined;
  return () => {
    loaded ??= Promise.all([typeof source === 'function' ? source() : source, import('./s3-sdk')])
      .then(([s3, sdk]) => ({ s3, sdk }))
      .catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
    return loaded;
  };
}
