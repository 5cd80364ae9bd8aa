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
