import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface FunctionIdentity {
  readonly functionName: string;
  readonly memoryLimitInMB: number;
  readonly timeoutMs: number;
  readonly region: string;
  readonly accountId: string;
}

/** The context object the Lambda runtime hands a handler for one invocation. */
export function lambdaContext(fn: FunctionIdentity, startedAt = Date.now()): Context {
  const awsRequestId = randomUUID();
  const unsupported = () => {
    throw new Error('callback-style completion is not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${fn.accountId}:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryLimitInMB),
    awsRequestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: `dev/[$LATEST]${awsRequestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, startedAt + fn.timeoutMs - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
