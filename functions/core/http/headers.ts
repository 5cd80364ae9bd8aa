/** Header names and media types the protocol uses in more than one place. */
export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
export const API_VERSION = 'registry/2.0';
export const CONTENT_DIGEST_HEADER = 'Docker-Content-Digest';
export const UPLOAD_UUID_HEADER = 'Docker-Upload-UUID';
export const CHUNK_MAX_LENGTH_HEADER = 'OCI-Chunk-Max-Length';
export const SUBJECT_HEADER = 'OCI-Subject';
export const FILTERS_APPLIED_HEADER = 'OCI-Filters-Applied';
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The caller's network address, as the transport saw it (the socket's peer, or API
 * Gateway's sourceIp). Each transport adapter sets it on every request, overwriting any
 * value the client sent, so the auth layer can key login limits on it.
 */
export const CLIENT_ADDRESS_HEADER = 'x-nimbus-client-address';

/**
 * The request-target (path and query) exactly as the client sent it. A web Request's URL
 * has been through the WHATWG parser, which resolves "." and ".." segments (and their
 * %2e spellings) and turns "\" into "/": routing on it would answer for another resource
 * than the one asked for. Each transport adapter sets this header on every request,
 * overwriting any value the client sent, and the router reads the path from it
 * (http/request-target.ts).
 */
export const REQUEST_TARGET_HEADER = 'x-nimbus-request-target';
