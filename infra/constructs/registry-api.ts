import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { TOKEN_PATH } from '../../functions/auth/token-auth';
import { acknowledge } from './nag';

/** Login rates: each password check costs the function an scrypt hash. */
export const DEFAULT_TOKEN_THROTTLE: apigwv2.ThrottleSettings = { rateLimit: 20, burstLimit: 40 };

export interface RegistryApiProps {
  readonly handler: lambda.IFunction;
  /** Steady-state and burst request rates across the API. */
  readonly throttle: apigwv2.ThrottleSettings;
  /**
   * Rates for GET and POST /token (docker login and token requests), tighter than the
   * API's; the function also limits failed logins per name and per address.
   * @default DEFAULT_TOKEN_THROTTLE (20 per second, bursts of 40)
   */
  readonly tokenThrottle?: apigwv2.ThrottleSettings;
  /** Custom domain mapped at the root. @default the execute-api endpoint only */
  readonly domainName?: apigwv2.IDomainName;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * An HTTP API whose every route ($default) goes to the registry function with payload
 * format 2.0, served on the $default stage so /v2/ sits at the domain root, as container
 * clients require. GET and POST /token are routes of their own, to the same function,
 * so the stage can throttle logins harder than pushes and pulls.
 */
export class RegistryApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RegistryApiProps) {
    super(scope, id);
    const integration = new HttpLambdaIntegration('Registry', props.handler, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Nimbus OCI registry',
      createDefaultStage: false,
      defaultIntegration: integration,
    });
    const tokenRoutes = this.api.addRoutes({ path: TOKEN_PATH, methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST], integration });
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
    const tokenThrottle = props.tokenThrottle ?? DEFAULT_TOKEN_THROTTLE;
    (this.stage.node.defaultChild as apigwv2.CfnStage).routeSettings = Object.fromEntries(tokenRoutes.map((route) => [
      (route.node.defaultChild as apigwv2.CfnRoute).routeKey,
      { ThrottlingRateLimit: tokenThrottle.rateLimit, ThrottlingBurstLimit: tokenThrottle.burstLimit },
    ]));
    // Route settings name routes by key: the routes must exist before the stage refers to them.
    for (const route of tokenRoutes) this.stage.node.addDependency(route);
    acknowledge(this.api, 'AwsSolutions-APIG4',
      'Clients authenticate to the registry itself, as the OCI Distribution spec requires (a 401 with a WWW-Authenticate challenge that docker, podman and skopeo answer); an API Gateway authorizer cannot issue that challenge.');
  }
}
