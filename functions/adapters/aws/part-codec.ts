import type { PartRecord } from '../../core/index';

/**
 * Packs an upload's part list into bytes for its DynamoDB session item, which may hold
 * at most 400 KB. S3 parts (ETag `"<md5 hex>"` plus a CRC32, see s3-blob-store.ts) take
 * 27 bytes each, so the 10,000 parts S3 allows fit in ~264 KiB; other ETags are kept
 * verbatim. Layout, per part, big-endian:
 *   u8 kind | u16 number | u32 size | payload
 *   kind 0: u8 length + UTF-8 ETag (any string up to 255 bytes)
 *   kind 1: 16-byte MD5             (ETag `"<32 hex>"`)
 *   kind 2: 16-byte MD5 + 4-byte CRC32 (ETag `"<32 hex>" <base64 CRC32>`)
 */

const MD5_ETAG = /^"([0-9a-f]{32})"$/;
const MD5_CRC32_ETAG = /^"([0-9a-f]{32})" ([A-Za-z0-9+/]{6}==)$/;
const HEADER = 1 + 2 + 4;

export function encodeParts(parts: readonly PartRecord[]): Uint8Array {
  const chunks = parts.map(encodePart);
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

export function decodeParts(bytes: Uint8Array): PartRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: PartRecord[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    const kind = view.getUint8(at);
    const number = view.getUint16(at + 1);
    const size = view.getUint32(at + 3);
    at += HEADER;
    let etag: string;
    if (kind === 0) {
      const length = view.getUint8(at);
      etag = new TextDecoder().decode(bytes.subarray(at + 1, at + 1 + length));
      at += 1 + length;
    } else if (kind === 1) {
      etag = `"${hex(bytes.subarray(at, at + 16))}"`;
      at += 16;
    } else if (kind === 2) {
      etag = `"${hex(bytes.subarray(at, at + 16))}" ${Buffer.from(bytes.subarray(at + 16, at + 20)).toString('base64')}`;
      at += 20;
    } else {
      throw new Error(`corrupt part list: unknown entry kind ${kind} at byte ${at - HEADER}`);
    }
    if (at > bytes.byteLength) throw new Error('corrupt part list: truncated entry');
    parts.push({ number, size, etag });
  }
  return parts;
}

function encodePart(part: PartRecord): Uint8Array {
  if (!Number.isInteger(part.number) || part.number < 1 || part.number > 0xffff) {
    throw new RangeError(`part number ${part.number} cannot be stored (1..65535)`);
  }
  if (!Number.isInteger(part.size) || part.size < 0 || part.size > 0xffffffff) {
    throw new RangeError(`part size ${part.size} cannot be stored (at most 4 GiB - 1)`);
  }
  const { kind, payload } = packEtag(part);
  const out = new Uint8Array(HEADER + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint16(1, part.number);
  view.setUint32(3, part.size);
  out.set(payload, HEADER);
  return out;
}

function packEtag(part: PartRecord): { kind: number; payload: Uint8Array } {
  const md5 = MD5_ETAG.exec(part.etag);
  if (md5) return { kind: 1, payload: new Uint8Array(Buffer.from(md5[1]!, 'hex')) };
  const withCrc = MD5_CRC32_ETAG.exec(part.etag);
  const crc = withCrc ? Buffer.from(withCrc[2]!, 'base64') : undefined;
  // Pack only what unpacks to the identical string (canonical base64).
  if (withCrc && crc && crc.toString('base64') === withCrc[2]) {
    const payload = new Uint8Array(20);
    payload.set(Buffer.from(withCrc[1]!, 'hex'));
    payload.set(crc, 16);
    return { kind: 2, payload };
  }
  const text = new TextEncoder().encode(part.etag);
  if (text.byteLength > 0xff) throw new RangeError(`ETag of part ${part.number} is longer than 255 bytes`);
  const payload = new Uint8Array(1 + text.byteLength);
  payload[0] = text.byteLength;
  payload.set(text, 1);
  return { kind: 0, payload };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
