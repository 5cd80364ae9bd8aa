import { LAMBDA_ENV } from '../adapters/aws/env';

export interface VerifierSettings {
  readonly table: string;
  readonly bucket: string;
  readonly emulator: boolean;
}

/** The verifier reads the same table and bucket variables as the registry function. */
export function readVerifierSettings(env: NodeJS.ProcessEnv): VerifierSettings {
  const table = env[LAMBDA_ENV.table];
  const bucket = env[LAMBDA_ENV.bucket];
  if (!table) throw new Error(`environment variable ${LAMBDA_ENV.table} is not set`);
  if (!bucket) throw new Error(`environment variable ${LAMBDA_ENV.bucket} is not set`);
  return { table, bucket, emulator: env[LAMBDA_ENV.emulator] === '1' };
}
