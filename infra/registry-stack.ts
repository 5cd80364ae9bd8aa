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
    const uploads = this.registry.uploadEndpoint;
    if (uploads) {
      new CfnOutput(this, 'UploadEndpointUrl', { description: `Where upload Locations point (layers stream there): the ${uploads.kind} upload endpoint`, value: uploads.origin });
    }
    if (uploads?.kind === 'fargate' && uploads.viewerDomain && !uploads.viewerDomain.zone) {
      new CfnOutput(this, 'UploadsDomainTarget', {
        description: `Point a CNAME for ${uploads.viewerDomain.domainName} at this host (upload Locations use that name)`,
        value: uploads.distribution.distributionDomainName,
      });
    }
    new CfnOutput(this, 'VerifierDeadLetterQueueUrl', {
      description: 'Direct-upload verifications that failed every attempt (an alarm watches it)',
      value: this.registry.verifier.deadLetterQueue.queueUrl,
    });
    // Auth is always on: nobody can push until an admin exists. Run from this checkout.
    const nimbus = `npx nimbus --table ${this.registry.metadata.table.tableName} --region ${this.region}`;
    new CfnOutput(this, 'FirstAdminCommand', {
      description: 'Create the first admin (password from $PASSWORD) with every grant, then docker login -u admin',
      value: `echo "$PASSWORD" | ${nimbus} user add admin --password-stdin && ${nimbus} grant admin '**' pull,push,delete`,
    });
    new CfnOutput(this, 'TokenSigningSecretArn', {
      description: 'Seed of the login token key; rotate with aws secretsmanager put-secret-value',
      value: this.registry.tokenKey.secret.secretArn,
    });
    const domain = this.registry.domain;
    if (domain && !props.registry?.domain?.hostedZone) {
      new CfnOutput(this, 'ApiGatewayDomainTarget', {
        description: `Point a CNAME for ${props.registry?.domain?.domainName} at this host`,
        value: domain.domainName.regionalDomainName,
      });
    }
  }
}
