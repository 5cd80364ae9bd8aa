/** API Gateway HTTP API (payload 2.0) ⇄ web Request/Response. */
export { createApiGatewayHandler, errorResult, type ApiGatewayHandler, type ApiGatewayHandlerOptions } from './handler';
export { eventToRequest } from './request';
export { responseToResult } from './response';
export { isGatewayTextType, isTextualResponseType, mediaType } from './content-types';
export * from './limits';
