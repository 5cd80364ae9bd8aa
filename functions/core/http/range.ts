import { RegistryError } from '../errors';
import type { ByteRange } from '../ports';

/**
 * Parses a blob GET `Range: bytes=...` header against a blob size. Returns undefined for
 * no header or a form we serve whole (multiple ranges); throws 416 when unsatisfiable.
 */
export function parseRangeHeader(header: string | null, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  let start: number;
  let end: number;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(first);
    end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
    if (last !== '' && Number(last) < start) return undefined; // syntactically invalid: ignore, per RFC 9110
  }
  if (start >= size || size === 0) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): RegistryError {
  return new RegistryError('SIZE_INVALID', 'requested range is not satisfiable', {
    status: 416,
    headers: { 'Content-Range': `bytes */${size}` },
    detail: { size },
  });
}

/**
 * Parses an upload PATCH `Content-Range: <start>-<end>` (inclusive). Some clients prefix
 * "bytes " or add "/total"; both are tolerated.
 */
export function parseContentRange(header: string | null): ByteRange | undefined {
  if (!header) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!match) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range "${header.slice(0, 60)}" is not of the form <start>-<end>`, { status: 416 });
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range end ${end} is before its start ${start}`, { status: 416 });
  }
  return { start, end };
}

/** The `Range` header value of an upload that holds `offset` bytes. */
export function uploadRangeHeader(offset: number): string {
  // distribution answers 0-0 for an empty upload; clients expect that form.
  return `0-${Math.max(0, offset - 1)}`;
}
