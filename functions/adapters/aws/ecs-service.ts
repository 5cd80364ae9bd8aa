import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { AwsCredentialIdentity } from '@aws-sdk/types';

/** Sets how many tasks an ECS service runs: the upload endpoint's scale to zero and back. */
export interface ServiceScaler {
  setDesiredCount(count: number): Promise<void>;
}

export interface EcsServiceOptions {
  readonly region: string;
  readonly cluster: string;
  readonly service: string;
  /** @default https://ecs.<region>.amazonaws.com, or AWS_ENDPOINT_URL_ECS */
  readonly endpoint?: string;
  /** @default the SDK's default credential chain (the Lambda role, the ECS task role) */
  readonly credentials?: AwsCredentialIdentity;
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/** ECS UpdateService, desiredCount only; the client is created once per scaler. */
export function ecsServiceScaler(options: EcsServiceOptions): ServiceScaler {
  const client = new ECSClient({
    region: options.region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: options.timeoutMs ?? 5_000 },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  return {
    async setDesiredCount(count) {
      try {
        await client.send(new UpdateServiceCommand({ cluster: options.cluster, service: options.service, desiredCount: count }));
      } catch (error) {
        const name = (error as { name?: string }).name ?? 'Error';
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? '';
        throw new Error(`ECS UpdateService ${options.cluster}/${options.service} desiredCount=${count} failed: ${status} ${name}: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
