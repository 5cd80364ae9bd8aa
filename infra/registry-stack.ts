import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { NimbusRegistry, type NimbusRegistryProps } from './constructs/registry';

export interface RegistryStackProps extends StackProps {
  /** How the registry is built. @default a registry on the execute-api host, data retained */
  readonly registry?: NimbusRegistryProps;
}

/** The deployable stack: one NimbusRegistry and the outputs a user needs to start pushing. */
export class RegistryStack extends Stack {
  readonly registry: NimbusRegistry;

  constructor(scope: Construct, id: string, props: RegistryStackProps = {}) {
    super(scope, id, { description: 'Nimbus: a serverless OCI container registry', ...props });
    this.registry = new NimbusRegistry(this, 'Registry', props.registry);

    new CfnOutput(this, 'RegistryUrl', { description: 'Registry base URL (the API is at /v2/)', value: this.registry.url });
    new CfnOutput(this, 'DockerLoginCommand', { description: 'Log in to the registry', value: `docker login ${this.registry.host}` });
    new CfnOutput(this, 'BlobBucketName', { value: this.registry.blobs.bucket.bucketName });
    new CfnOutput(this, 'MetadataTableName', { value: this.registry.metadata.table.tableName });
    const domain = this.registry.domain;
    if (domain && !props.registry?.domain?.hostedZone) {
      new CfnOutput(this, 'ApiGatewayDomainTarget', {
        description: `Point a CNAME for ${props.registry?.domain?.domainName} at this host`,
        value: domain.domainName.regionalDomainName,
      });
    }
  }
}
