/** One file of the browse UI, built from ui/src/ by tools/build/ui-assets.mjs. */
export interface UiAsset {
  /** Content-Type. */
  type: string;
  /** Hash of the body: the ETag, unquoted. */
  etag: string;
  /** Named by its content hash, so it can be cached for good; index.html is revalidated. */
  immutable: boolean;
  body: string;
}
