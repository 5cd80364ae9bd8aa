import type { Duration } from 'aws-cdk-lib';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { repoRoot } from './bundle-entry';
import { bundleLambda, LAMBDA_ENTRY_FILE } from './lambda-bundle';
import { acknowledge } from './nag';

export interface BundledFunctionProps {
  /** Entry file, relative to the repository root. */
  readonly entry: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  /** Invocations at once (the events function: 1, so its passes never overlap). @default unreserved */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A function of this repository as every Nimbus Lambda is built: bundled by the local
 * esbuild (no Docker) into an ESM entry plus the chunks it loads lazily, with source maps
 * (lambda-bundle.ts), on nodejs22.x arm64. The asset is hashed from the bundle, as
 * NodejsFunction hashes its own, so an unchanged bundle is not uploaded again.
 */
export function bundledFunction(scope: Construct, id: string, props: BundledFunctionProps): lambda.Function {
  const fn = new lambda.Function(scope, id, {
    code: lambda.Code.fromAsset(repoRoot, {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: local bundling always succeeds or throws.
        image: DockerImage.fromRegistry('nimbus-bundles-locally'),
        local: {
          tryBundle(outputDir) {
            bundleLambda(props.entry, outputDir);
            return true;
          },
        },
      },
    }),
    handler: `${LAMBDA_ENTRY_FILE.replace(/\.mjs$/, '')}.handler`,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role: props.role,
    logGroup: props.logGroup,
    ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    environment: {
      ...props.environment,
      // Stack traces point into the TypeScript sources through the bundled source maps.
      NODE_OPTIONS: '--enable-source-maps',
    },
  });
  acknowledge(fn, 'AwsSolutions-L1',
    'Pinned to nodejs22.x on purpose: it is the runtime the project supports and tests against (the bundle targets node22). Moving to a newer runtime is a deliberate, tested change, never a side effect of a deploy.');
  return fn;
}
