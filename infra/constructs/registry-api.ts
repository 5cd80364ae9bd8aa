import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface RegistryApiProps {
  readonly handler: lambda.IFunction;
  /** Steady-state and burst request rates across the API. */
  readonly throttle: apigwv2.ThrottleSettings;
  /** Custom domain mapped at the root. @default the execute-api endpoint only */
  readonly domainName?: apigwv2.IDomainName;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * An HTTP API whose every route ($default) goes to the registry function with payload
 * format 2.0, served on the $default stage so /v2/ sits at the domain root, as container
 * clients require.
 */
export class RegistryApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RegistryApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Nimbus OCI registry',
      createDefaultStage: false,
      defaultIntegration: new HttpLambdaIntegration('Registry', props.handler, {
        payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      ...(props.domainName ? { domainMapping: { domainName: props.domainName } } : {}),
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        // $context.path has no query string: upload URLs carry capabilities there.
        format: AccessLogFormat.custom(JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          time: '$context.requestTime',
          method: '$context.httpMethod',
          path: '$context.path',
          status: '$context.status',
          bytesOut: '$context.responseLength',
          latencyMs: '$context.responseLatency',
          integrationStatus: '$context.integrationStatus',
          integrationError: '$context.integrationErrorMessage',
          error: '$context.error.message',
        })),
      },
    });
    acknowledge(this.api, 'AwsSolutions-APIG4',
      'Clients authenticate to the registry itself, as the OCI Distribution spec requires (a 401 with a WWW-Authenticate challenge that docker, podman and skopeo answer); an API Gateway authorizer cannot issue that challenge.');
  }
}
