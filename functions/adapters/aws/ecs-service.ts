import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

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
  readonly credentials?: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  /** @default 5000 */
  readonly timeoutMs?: number;
}

/**
 * ECS UpdateService (desiredCount only), signed with the SDK's own SigV4 signer and
 * credential chain. The project carries no ECS client, and this one call does not need one.
 */
export function ecsServiceScaler(options: EcsServiceOptions): ServiceScaler {
  const endpoint = new URL(options.endpoint ?? process.env.AWS_ENDPOINT_URL_ECS ?? `https://ecs.${options.region}.amazonaws.com`);
  const signer = new SignatureV4({
    service: 'ecs', region: options.region, credentials: options.credentials ?? defaultProvider(), sha256: NodeSha256, uriEscapePath: true,
  });
  return {
    async setDesiredCount(count) {
      const body = JSON.stringify({ cluster: options.cluster, service: options.service, desiredCount: count });
      const signed = await signer.sign({
        method: 'POST', protocol: endpoint.protocol, hostname: endpoint.hostname, ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
        path: '/', query: {}, body,
        headers: {
          host: endpoint.host,
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'AmazonEC2ContainerServiceV20141113.UpdateService',
        },
      });
      const response = await fetch(new URL('/', endpoint), {
        method: 'POST', headers: signed.headers as Record<string, string>, body, signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      if (!response.ok) {
        const text = (await response.text()).slice(0, 500);
        throw new Error(`ECS UpdateService ${options.cluster}/${options.service} desiredCount=${count} failed: ${response.status} ${text}`);
      }
      await response.body?.cancel();
    },
  };
}

/** The signer's hash: node:crypto SHA-256, keyed (HMAC) when given a secret. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | Uint8Array | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBytes(data: string | Uint8Array | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}
