import { Annotations, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, logicalIdOf } from './nag';
import { grantUploadData, uploadServerEnvironment } from './upload-grants';
import { WEB_FUNCTION_ENTRY_FILE, webFunctionCodeDirectory } from './web-function-code';

/** A web function request ends after at most this long (Lambda Developer Guide, "Request timeout"). */
export const WEB_FUNCTION_MAX_REQUEST = Duration.seconds(900);

export interface WebFunctionUploadEndpointOptions {
  /**
   * Upload requests one execution environment (2 vCPU, 2 GB) serves at once, 1 to 128; Lambda
   * starts another environment past it. Each upload in flight holds about two parts in memory.
   * Web function only. @default 32 (32 × 2 × 16 MiB parts = 1 GiB)
   */
  readonly concurrencyPerEnvironment?: number;
  /** S3 part size, MiB (5 to 512). @default 16 */
  readonly partSizeMiB?: number;
}

export interface WebFunctionUploadEndpointProps extends WebFunctionUploadEndpointOptions {
  readonly bucket: s3.IBucket;
  readonly table: dynamodb.ITable;
  readonly uploadSecret: secretsmanager.ISecret;
  /** Seconds an idle upload session lives, as the registry function is told. */
  readonly uploadSessionTtlSeconds: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The upload endpoint as a Lambda web function (AWS::Lambda::WebFunction): the same upload
 * server, core and adapters as the Fargate task, listening on the address Lambda gives it, on
 * an HTTPS endpoint Lambda creates (*.on.aws). Nothing runs or costs while nobody pushes: Lambda
 * scales environments to zero and back by itself, so the registry function needs no wake gate.
 *
 * The endpoint's auth is ApplicationManaged: docker sends no Authorization to a Location on
 * another host, let alone a SigV4 signature, so each request is authorised by the upload
 * capability in its URL, as on the Fargate endpoint. One request may last at most 900 s, so a
 * layer sent in one PATCH must arrive at 5.6 MB/s or more per 5 GB (README, "Upload endpoint").
 */
export class WebFunctionUploadEndpoint extends Construct {
  readonly kind = 'webFunction' as const;
  /** https://<endpoint>.on.aws: where upload Locations point. */
  readonly origin: string;
  readonly webFunction: lambda.WebFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: WebFunctionUploadEndpointProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role: the construct's default one carries the AWS-managed AWSLambdaBasicExecutionRole.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Nimbus upload endpoint (web function): upload sessions, blob objects and its log group only',
    });
    grantUploadData(this.role, props);
    this.role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));

    const copyOptions = codeCopyOptions(this, props.logRetention);
    this.webFunction = new lambda.WebFunction(this, 'Server', {
      code: lambda.WebFunctionCode.fromAssetToManagedBucket(webFunctionCodeDirectory(this), { copyOptions }),
      runtime: lambda.WebFunctionRuntime.NODEJS_24_X,
      entryPoint: WEB_FUNCTION_ENTRY_FILE,
      role: this.role,
      logGroup,
      timeout: WEB_FUNCTION_MAX_REQUEST,
      maxConcurrencyPerEnvironment: props.concurrencyPerEnvironment ?? 32,
      defaultEndpointAuth: lambda.WebFunctionAuthType.APPLICATION_MANAGED,
      revisionDescription: 'Nimbus upload endpoint: streams layer uploads into S3 parts',
      environment: {
        ...uploadServerEnvironment(props),
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
    this.origin = `https://${this.webFunction.endpoint.domainName}`;
    Annotations.of(this.webFunction.endpoint).acknowledgeWarning('@aws-cdk/aws-lambda:webFunctionPublicEndpoint',
      'Public on purpose: docker sends upload bodies without Authorization (let alone SigV4) to a Location on another host; the upload server refuses every request without a valid, expiring upload capability before it stores a byte.');
    acknowledgeCodeBucket(this, copyOptions.role as iam.Role);
  }
}

/**
 * The deploy-time function that copies the code package into the versioned bucket the web
 * function reads it from: our role (the construct's default carries the AWS-managed
 * AWSLambdaBasicExecutionRole) and a log group with a retention.
 */
function codeCopyOptions(scope: Construct, logRetention: logs.RetentionDays | undefined): lambda.WebFunctionCodeCopyOptions {
  const logGroup = new logs.LogGroup(scope, 'CodeCopyLogs', { retention: logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, 'CodeCopyRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'Nimbus: copies the upload web function\'s code package into its code bucket at deploy time',
  });
  role.addToPolicy(new iam.PolicyStatement({ sid: 'OwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }));
  const stack = Stack.of(scope);
  // CDK grants the copy function these (s3_object_copy): findings name them as cdk-nag flattens them.
  const qualifier = stack.synthesizer instanceof DefaultStackSynthesizer ? stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER : undefined;
  if (qualifier) acknowledge(role, `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*]`, COPY_GRANT_REASON);
  for (const id of ['Action::s3:Abort*', 'Action::s3:DeleteObject*']) acknowledge(role, `AwsSolutions-IAM5[${id}]`, COPY_GRANT_REASON);
  return { role, logGroup };
}

const COPY_GRANT_REASON = 'Granted by CDK to its deploy-time copy function: read the staged code package in the CDK asset bucket (object keys are content hashes), write and delete the copies under web-function/ in the code bucket; nothing else.';

/** The stack-wide bucket WebFunctionCode.fromAssetToManagedBucket() creates (versioned, SSE-S3, TLS only). */
const CODE_BUCKET_ID = 'AWSCDKWebFunctionAssetBucket';

function acknowledgeCodeBucket(scope: Construct, copyRole: iam.Role): void {
  const bucket = Stack.of(scope).node.tryFindChild(CODE_BUCKET_ID);
  if (!bucket) throw new Error(`the web function's code bucket (${CODE_BUCKET_ID}) was not found: aws-cdk-lib renamed it, update this acknowledgment`);
  acknowledge(bucket, 'AwsSolutions-S1',
    'The bucket holds only the web function\'s code package, written by the deploy-time copy and read by the Lambda service when an environment starts; CloudTrail records both, and server access logs would add a log bucket for nothing else.');
  acknowledge(copyRole, `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/web-function/*]`, COPY_GRANT_REASON);
}
