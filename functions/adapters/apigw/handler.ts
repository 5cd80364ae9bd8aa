import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Logger } from '../../core/index';
import { LAMBDA_MAX_RESPONSE_BYTES } from './limits';
import { eventToRequest } from './request';
import { responseToResult } from './response';

export type ApiGatewayHandler = (event: APIGatewayProxyEventV2, context?: Pick<Context, 'awsRequestId'>) => Promise<APIGatewayProxyStructuredResultV2>;

export interface ApiGatewayHandlerOptions {
  /** The registry (or any fetch handler) to serve. */
  readonly fetch: (request: Request) => Promise<Response>;
  readonly logger: Logger;
}

/**
 * Serves a fetch handler to API Gateway HTTP API events, with one structured log line per
 * request keyed by API Gateway's request id (the apigw-requestid clients see). Never
 * throws: a failure here still answers in the Distribution spec's JSON error shape.
 */
export function createApiGatewayHandler(options: ApiGatewayHandlerOptions): ApiGatewayHandler {
  const { fetch, logger } = options;
  return async (event, context) => {
    const started = performance.now();
    const requestId = event.requestContext.requestId;
    const method = event.requestContext.http.method.toUpperCase();
    let result: APIGatewayProxyStructuredResultV2;
    try {
      const request = eventToRequest(event);
      request.headers.set('x-request-id', requestId);
      result = await responseToResult(await fetch(request), method);
      if (resultSize(result) > LAMBDA_MAX_RESPONSE_BYTES) {
        logger.log('error', 'response too large for a Lambda function', { requestId, status: result.statusCode });
        result = errorResult(500, 'the response is larger than a Lambda function can return', requestId);
      }
    } catch (error) {
      logger.log('error', 'request failed in the API Gateway adapter', { requestId, error: error instanceof Error ? error.message : String(error) });
      result = errorResult(500, 'internal error', requestId);
    }
    // The path only: query strings carry upload capabilities, which must not reach logs.
    logger.log('info', 'request', {
      requestId,
      lambdaRequestId: context?.awsRequestId,
      method,
      path: event.rawPath,
      status: result.statusCode,
      ms: Math.round(performance.now() - started),
    });
    return result;
  };
}

function resultSize(result: APIGatewayProxyStructuredResultV2): number {
  return Buffer.byteLength(JSON.stringify(result));
}

function errorResult(status: number, message: string, requestId: string): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' },
    body: JSON.stringify({ errors: [{ code: 'UNKNOWN', message, detail: { requestId } }] }),
    isBase64Encoded: false,
  };
}
