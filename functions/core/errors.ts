/**
 * The OCI distribution-spec error codes, with the HTTP status each one is sent with.
 * This table is the only place error codes are defined; handlers and adapters throw
 * `RegistryError`s (or the store errors below) and `http/error-response.ts` renders them.
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  // Nimbus administration (/v2/_nimbus/retention, /v2/_nimbus/immutability): not in the spec's table.
  POLICY_INVALID: { status: 400, message: 'policy document invalid' },
  POLICY_CONFLICT: { status: 409, message: 'the policy document was changed since it was read (If-Match)' },
  // Nimbus administration (/v2/_nimbus/webhooks).
  WEBHOOK_INVALID: { status: 400, message: 'webhook invalid' },
  WEBHOOK_UNKNOWN: { status: 404, message: 'webhook unknown to registry' },
  // Not in the spec's table, but used by distribution and understood by clients as retryable.
  UNAVAILABLE: { status: 503, message: 'service unavailable, retry later' },
  UNKNOWN: { status: 500, message: 'unknown error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface RegistryErrorOptions {
  /** Overrides the table's status where the spec asks for another one (413, 416, ...). */
  status?: number;
  detail?: unknown;
  headers?: Record<string, string>;
}

/** A failure the client caused or can act on; rendered as the spec's JSON error body. */
export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message?: string, options: RegistryErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

/**
 * Errors store adapters throw. They describe what went wrong in storage terms;
 * `http/error-response.ts` decides what the client sees.
 */
export class StoreConflictError extends Error {
  constructor(message = 'the record was changed by a concurrent request') {
    super(message);
    this.name = 'StoreConflictError';
  }
}

export class StoreThrottledError extends Error {
  constructor(message = 'the storage backend is throttling requests') {
    super(message);
    this.name = 'StoreThrottledError';
  }
}

export class StoreUnavailableError extends Error {
  constructor(message = 'the storage backend is unavailable') {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/** A record or object the caller asked for does not exist. */
export class StoreNotFoundError extends Error {
  constructor(message = 'not found') {
    super(message);
    this.name = 'StoreNotFoundError';
  }
}

/** What a manifest may reference: a blob (config, layer) or, from an index, another manifest. */
export type ReferenceKind = 'blob' | 'manifest';

/**
 * A manifest could not be stored because something it references is not in its repository
 * (never linked, unlinked or deleted concurrently). Nothing of the manifest was stored.
 */
export class StoreReferenceMissingError extends Error {
  constructor(readonly kind: ReferenceKind, readonly digest: string) {
    super(`${kind} ${digest} is not in the repository`);
    this.name = 'StoreReferenceMissingError';
  }
}

/**
 * A delete was refused because a stored manifest still references the blob or manifest:
 * removing it would leave `holder` unpullable. `holder` is undefined when the store knows
 * the target is referenced but could not name by whom.
 */
export class StoreInUseError extends Error {
  constructor(readonly kind: ReferenceKind, readonly digest: string, readonly holder: string | undefined) {
    super(`${kind} ${digest} is referenced by manifest ${holder ?? '(unknown)'}`);
    this.name = 'StoreInUseError';
  }
}

/**
 * A tag write or manifest delete was refused because of a tag: `keepTag` found `tag` already
 * pointing at another manifest (`digest`), or `untaggedOnly` found the manifest tagged `tag`.
 */
export class StoreTagConflictError extends Error {
  constructor(readonly tag: string, readonly digest: string) {
    super(`tag ${tag} points to ${digest}`);
    this.name = 'StoreTagConflictError';
  }
}
