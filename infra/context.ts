import type { Node } from 'constructs';
import type { NimbusRegistryProps } from './constructs/registry';

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
  if (!domainName && (certificateArn || hostedZoneId)) {
    throw new Error(`${CONTEXT_KEYS.certificateArn} and ${CONTEXT_KEYS.hostedZoneId} need ${CONTEXT_KEYS.domainName}`);
  }
  const memory = text(node, CONTEXT_KEYS.memorySize);
  const memorySize = memory === undefined ? undefined : Number(memory);
  if (memorySize !== undefined && !(Number.isInteger(memorySize) && memorySize >= 128 && memorySize <= 10240)) {
    throw new Error(`${CONTEXT_KEYS.memorySize} must be an integer from 128 to 10240 (MB), not "${memory}"`);
  }
  return {
    ...(domainName ? {
      domain: {
        domainName,
        ...(certificateArn ? { certificateArn } : {}),
        ...(hostedZoneId && hostedZoneName ? { hostedZone: { hostedZoneId, zoneName: hostedZoneName } } : {}),
      },
    } : {}),
    ...(flag(node, CONTEXT_KEYS.tableDeletionProtection) ? { tableDeletionProtection: true } : {}),
    ...(memorySize !== undefined ? { memorySize } : {}),
    ...(uploadEndpointOff(node) ? { uploadEndpoint: false as const } : {}),
  };
}

function text(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return String(value).trim() || undefined;
}

/** `false` turns the upload endpoint off; unset or `true` keeps the default (on). */
function uploadEndpointOff(node: Node): boolean {
  const value = text(node, CONTEXT_KEYS.uploadEndpoint);
  if (value !== undefined && !['true', 'false'].includes(value)) throw new Error(`${CONTEXT_KEYS.uploadEndpoint} must be true or false, not "${value}"`);
  return value === 'false';
}

function flag(node: Node, key: string): boolean {
  const value = text(node, key);
  return value === 'true' || value === '1';
}
