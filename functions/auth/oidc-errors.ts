/** OIDC login failures, apart from the verifier so that callers can tell them without loading it (oidc.ts loads on first use). */

export class OidcRejectedError extends Error {
  override name = 'OidcRejectedError';
}

/**
 * The issuer could not be reached: a retryable failure, not a wrong credential. The
 * message is what the client sees; the issuer and the cause (URLs, network errors) are
 * for the log only.
 */
export class OidcUnavailableError extends Error {
  override name = 'OidcUnavailableError';

  constructor(readonly issuer: string, cause: unknown) {
    super('the CI issuer\'s signing keys could not be fetched; retry later', { cause });
  }
}
