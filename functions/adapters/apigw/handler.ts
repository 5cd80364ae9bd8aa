import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorResponse } from '../../core/http/responses';
import { RegistryError, type Logger } from '../../core/index';
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
 * throws: every failure, here or in the core, is rendered by the core's one error renderer.
 */
export function createApiGatewayHandler(options: ApiGatewayHandlerOptions): ApiGatewayHandler {
  const { fetch, logger } = options;
  return async (event, context) => {
    const started = performance.now();
    const requestId = event.requestContext.requestId;
    const method = event.requestContext.http.method;
    let result: APIGatewayProxyStructuredResultV2;
    try {
      const request = eventToRequest(event);
      request.headers.set('x-request-id', requestId);
      result = await responseToResult(await fetch(request), method);
      if (resultSize(result) > LAMBDA_MAX_RESPONSE_BYTES) {
        logger.log('error', 'response too large for a Lambda function', { requestId, status: result.statusCode });
        const tooLarge = new RegistryError('UNKNOWN', 'the response is larger than a Lambda function can return', { status: 500, detail: { requestId } });
        result = await errorResult(tooLarge, { logger, requestId, method });
      }
    } catch (error) {
      result = await errorResult(error, { logger, requestId, method });
    }
    // The path only: query strings carry upload capabilities, which must not reach logs.
    logger.log('info', 'request', {
      requestId,
      lambdaRequestId: context?.awsRequestId,
      method,
      path: event.rawPath.slice(0, 1024),
      status: result.statusCode,
      ms: Math.round(performance.now() - started),
    });
    return result;
  };
}

function resultSize(result: APIGatewayProxyStructuredResultV2): number {
  return Buffer.byteLength(JSON.stringify(result));
}

/** Any failure as a payload 2.0 result, rendered by the core's one error renderer (http/responses.ts). */
export function errorResult(error: unknown, context: { logger: Logger; requestId: string; method: string }): Promise<APIGatewayProxyStructuredResultV2> {
  return responseToResult(errorResponse(error, context.logger, context.requestId), context.method);
}
