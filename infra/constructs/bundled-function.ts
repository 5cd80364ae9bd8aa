import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

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
 * esbuild (no Docker) into one ESM file with a source map, on nodejs22.x arm64.
 */
export function bundledFunction(scope: Construct, id: string, props: BundledFunctionProps): NodejsFunction {
  const fn = new NodejsFunction(scope, id, {
    entry: `${repoRoot}${props.entry}`,
    handler: 'handler',
    projectRoot: repoRoot,
    depsLockFilePath: `${repoRoot}package-lock.json`,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize,
    timeout: props.timeout,
    role: props.role,
    logGroup: props.logGroup,
    ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    environment: {
      ...props.environment,
      // Stack traces point into the TypeScript sources through the bundled source map.
      NODE_OPTIONS: '--enable-source-maps',
    },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      // Bundle the AWS SDK this repository pins instead of whichever the runtime carries.
      externalModules: [],
      // ESM bundles have no `require`; some CommonJS dependencies still call it.
      banner: 'import{createRequire as __nimbusCreateRequire}from"node:module";const require=__nimbusCreateRequire(import.meta.url);',
      forceDockerBundling: false,
    },
  });
  acknowledge(fn, 'AwsSolutions-L1',
    'Pinned to nodejs22.x on purpose: it is the runtime the project supports and tests against (the bundle targets node22). Moving to a newer runtime is a deliberate, tested change, never a side effect of a deploy.');
  return fn;
}
