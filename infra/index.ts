/** The registry as reusable CDK constructs, for stacks of your own. */
export { NimbusRegistry, type NimbusRegistryProps } from './constructs/registry';
export { RegistryDomain, type RegistryDomainProps, type HostedZoneRef } from './constructs/registry-domain';
export { BlobBucket, type BlobBucketProps, DEFAULT_NONCURRENT_VERSION_DAYS, DEFAULT_UPLOAD_SESSION_TTL_SECONDS } from './constructs/blob-bucket';
export { MetadataTable, type MetadataTableProps } from './constructs/metadata-table';
export { RegistryFunction, type RegistryFunctionProps } from './constructs/registry-function';
export { RegistryApi, DEFAULT_TOKEN_THROTTLE, type RegistryApiProps } from './constructs/registry-api';
export { UploadSecret } from './constructs/upload-secret';
export { UploadEndpoint, type UploadEndpointOptions, type UploadEndpointProps } from './constructs/upload-endpoint';
export { WebFunctionUploadEndpoint, type WebFunctionUploadEndpointOptions, type WebFunctionUploadEndpointProps } from './constructs/web-function-upload-endpoint';
export { UPLOAD_ENDPOINT_KINDS, type UploadEndpointChoice, type UploadEndpointKind } from './constructs/upload-endpoint-choice';
export { VerifierFunction, type VerifierFunctionProps } from './constructs/verifier-function';
export { TokenSigningSecret } from './constructs/token-secret';
export { RegistryStack, type RegistryStackProps } from './registry-stack';
