import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export interface EventInit {
  method?: string;
  rawPath?: string;
  rawQueryString?: string;
  headers?: Record<string, string>;
  cookies?: string[];
  body?: Uint8Array | string;
  /** Sends `body` base64-encoded, as API Gateway does for binary content types. @default true for bytes */
  base64?: boolean;
  requestId?: string;
}

/** An HTTP API payload 2.0 event shaped as API Gateway documents it. */
export function apiGatewayEvent(init: EventInit = {}): APIGatewayProxyEventV2 {
  const method = init.method ?? 'GET';
  const rawPath = init.rawPath ?? '/v2/';
  const rawQueryString = init.rawQueryString ?? '';
  const base64 = init.base64 ?? typeof init.body !== 'string';
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'x-forwarded-proto': 'https', ...init.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: init.requestId ?? 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2030:00:00:00 +0000',
      timeEpoch: 1893456000000,
    },
    isBase64Encoded: false,
  };
  if (init.cookies) event.cookies = init.cookies;
  if (init.body !== undefined) {
    const bytes = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : Buffer.from(init.body);
    event.body = base64 ? bytes.toString('base64') : bytes.toString('utf8');
    event.isBase64Encoded = base64;
  }
  return event;
}
