/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Content types API Gateway (HTTP API, payload 2.0) hands to Lambda as a UTF-8 string;
 * every other body, including one without a Content-Type, arrives base64-encoded.
 */
export function isGatewayTextType(contentType: string | null | undefined): boolean {
  const type = mediaType(contentType);
  return type.startsWith('text/') || type === 'application/json' || type === 'application/xml' || type === 'application/javascript';
}

/**
 * Response content types worth sending as text when their bytes are valid UTF-8: JSON
 * (manifests are +json), XML and text. Everything else goes back base64-encoded.
 */
export function isTextualResponseType(contentType: string | null | undefined): boolean {
  const type = mediaType(contentType);
  return type.startsWith('text/') || /^application\/([\w.+-]*\+)?(json|xml)$/.test(type) || type === 'application/javascript';
}
