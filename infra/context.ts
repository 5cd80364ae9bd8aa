import type { Node } from 'constructs';
import type { NimbusRegistryProps } from './constructs/registry';
import { UPLOAD_ENDPOINT_KINDS, type UploadEndpointKind } from './constructs/upload-endpoint-choice';

/**
 * Context keys (cdk.json "context", or `npx cdk deploy -c key=value`) that configure the
 * deployed registry. Empty strings count as unset, so cdk.json can list every key.
 */
export const CONTEXT_KEYS = {
  stackName: 'nimbus:stackName',
  domainName: 'nimbus:domainName',
  certificateArn: 'nimbus:certificateArn',
  hostedZoneId: 'nimbus:hostedZoneId',
  hostedZoneName: 'nimbus:hostedZoneName',
  tableDeletionProtection: 'nimbus:tableDeletionProtection',
  memorySize: 'nimbus:memorySize',
  uploadEndpoint: 'nimbus:uploadEndpoint',
  uploadCertificateArn: 'nimbus:uploadCertificateArn',
  uploadSessionTtlSeconds: 'nimbus:uploadSessionTtlSeconds',
  noncurrentVersionDays: 'nimbus:noncurrentVersionDays',
} as const;

export function stackNameFromContext(node: Node): string {
  return text(node, CONTEXT_KEYS.stackName) ?? 'Nimbus';
}

export function registryPropsFromContext(node: Node): NimbusRegistryProps {
  const domainName = text(node, CONTEXT_KEYS.domainName);
  const certificateArn = text(node, CONTEXT_KEYS.certificateArn);
  const hostedZoneId = text(node, CONTEXT_KEYS.hostedZoneId);
  const hostedZoneName = text(node, CONTEXT_KEYS.hostedZoneName);
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new Error(`set both ${CONTEXT_KEYS.hostedZoneId} and ${CONTEXT_KEYS.hostedZoneName}, or neither`);
  }
  const uploadCertificateArn = text(node, CONTEXT_KEYS.uploadCertificateArn);
  if (!domainName && (certificateArn || hostedZoneId || uploadCertificateArn)) {
    throw new Error(`${CONTEXT_KEYS.certificateArn}, ${CONTEXT_KEYS.hostedZoneId} and ${CONTEXT_KEYS.uploadCertificateArn} need ${CONTEXT_KEYS.domainName}`);
  }
  const memorySize = integer(node, CONTEXT_KEYS.memorySize, 128, 10240, 'MB');
  const uploadSessionTtlSeconds = integer(node, CONTEXT_KEYS.uploadSessionTtlSeconds, 300, 30 * 86_400, 'seconds');
  const noncurrentVersionDays = integer(node, CONTEXT_KEYS.noncurrentVersionDays, 1, 36_500, 'days');
  const kind = uploadEndpointKind(node);
  return {
    ...(domainName ? {
      domain: {
        domainName,
        ...(certificateArn ? { certificateArn } : {}),
        ...(hostedZoneId && hostedZoneName ? { hostedZone: { hostedZoneId, zoneName: hostedZoneName } } : {}),
        ...(uploadCertificateArn ? { uploadCertificateArn } : {}),
      },
    } : {}),
    ...(flag(node, CONTEXT_KEYS.tableDeletionProtection) ? { tableDeletionProtection: true } : {}),
    ...(memorySize !== undefined ? { memorySize } : {}),
    ...(kind === 'off' ? { uploadEndpoint: false as const } : kind === 'webFunction' ? { uploadEndpoint: { kind } } : {}),
    ...(uploadSessionTtlSeconds !== undefined ? { uploadSessionTtlSeconds } : {}),
    ...(noncurrentVersionDays !== undefined ? { noncurrentVersionDays } : {}),
  };
}

function text(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value).trim() || undefined;
}

/**
 * The upload endpoint's kind: fargate, webFunction or off. `true` and `false` are still
 * accepted (fargate and off), as this key once took only those.
 */
function uploadEndpointKind(node: Node): UploadEndpointKind | undefined {
  const value = text(node, CONTEXT_KEYS.uploadEndpoint);
  if (value === undefined) return undefined;
  if (value === 'true') return 'fargate';
  if (value === 'false') return 'off';
  if (!(UPLOAD_ENDPOINT_KINDS as readonly string[]).includes(value)) {
    throw new Error(`${CONTEXT_KEYS.uploadEndpoint} must be ${UPLOAD_ENDPOINT_KINDS.join(', ')} (or true, false), not "${value}"`);
  }
  return value as UploadEndpointKind;
}

function integer(node: Node, key: string, min: number, max: number, unit: string): number | undefined {
  const raw = text(node, key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${key} must be an integer from ${min} to ${max} (${unit}), not "${raw}"`);
  return value;
}

function flag(node: Node, key: string): boolean {
  const value = text(node, key);
  return value === 'true' || value === '1';
}
