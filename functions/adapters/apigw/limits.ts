/**
 * What one request can carry through API Gateway (HTTP API) into a Lambda function. The
 * Lambda entry advertises MAX_LAMBDA_BODY_BYTES as OCI-Chunk-Max-Length, and the dev:aws
 * gateway enforces the same limits, so both paths refuse the same bodies.
 */

/** API Gateway HTTP API payload quota: bodies above it never reach the integration. */
export const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** HTTP API quota on the request line and header values together; larger requests never reach the integration. */
export const API_GATEWAY_MAX_HEAD_BYTES = 10_240;

/** HTTP API integration timeout: past it the client gets 503 while the function runs on. */
export const API_GATEWAY_TIMEOUT_MS = 30_000;

/** Largest synchronous Lambda invoke payload (the whole JSON event), in bytes. */
export const LAMBDA_MAX_EVENT_BYTES = 6 * 1024 * 1024;

/** Largest synchronous Lambda response payload: 100 bytes more than the request's. */
export const LAMBDA_MAX_RESPONSE_BYTES = LAMBDA_MAX_EVENT_BYTES + 100;

/**
 * Room kept in the event for everything but the body: request context, path, query and
 * headers (API Gateway caps request line plus headers near 10 KB; JSON escaping can
 * double that). Generous, so a body within the limit always fits.
 */
export const EVENT_ENVELOPE_ALLOWANCE_BYTES = 64 * 1024;

/**
 * Largest raw body one Lambda request can carry: binary bodies arrive base64-encoded,
 * 4 characters per 3 bytes, inside the 6 MB event. 4,669,440 bytes (~4.45 MiB).
 */
export const MAX_LAMBDA_BODY_BYTES = Math.floor((LAMBDA_MAX_EVENT_BYTES - EVENT_ENVELOPE_ALLOWANCE_BYTES) / 4) * 3;
