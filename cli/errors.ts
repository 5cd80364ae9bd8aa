/** A failure the user can fix; printed as `nimbus: <message>` with exit code 1, no stack. */
export class CliError extends Error {
  override name = 'CliError';
}
