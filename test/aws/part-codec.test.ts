import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeParts, encodeParts } from '../../functions/adapters/aws/part-codec';
import type { PartRecord } from '../../functions/core/index';

const s3Part = (number: number, size = 8 * 1024 * 1024): PartRecord => ({
  number, size, etag: `"${randomBytes(16).toString('hex')}" ${randomBytes(4).toString('base64')}`,
});

describe('part list codec', () => {
  it('packs S3 parts (ETag + CRC32) into 27 bytes each, so 10,000 fit well inside a 400 KB item', () => {
    const parts = Array.from({ length: 10_000 }, (_, i) => s3Part(i + 1));
    const packed = encodeParts(parts);
    expect(packed.byteLength).toBe(270_000);
    expect(decodeParts(packed)).toEqual(parts);
  });

  it('keeps any other ETag verbatim', () => {
    const parts: PartRecord[] = [
      { number: 1, size: 0, etag: '' },
      { number: 2, size: 5, etag: '"abc"' },
      { number: 3, size: 7, etag: `"${'f'.repeat(32)}"` },
      { number: 4, size: 9, etag: `"${'A'.repeat(32)}"` }, // upper-case hex: not packed, still exact
      { number: 5, size: 11, etag: `"${'0'.repeat(32)}" AAAAAB==` }, // non-canonical base64
      { number: 65_535, size: 0xffffffff, etag: 'ünïcode-etag' },
    ];
    expect(decodeParts(encodeParts(parts))).toEqual(parts);
  });

  it('encodes an empty list as no bytes', () => {
    expect(encodeParts([]).byteLength).toBe(0);
    expect(decodeParts(new Uint8Array(0))).toEqual([]);
  });

  it('refuses what it cannot store instead of corrupting it', () => {
    expect(() => encodeParts([{ number: 0, size: 1, etag: '' }])).toThrow(RangeError);
    expect(() => encodeParts([{ number: 65_536, size: 1, etag: '' }])).toThrow(RangeError);
    expect(() => encodeParts([{ number: 1, size: 2 ** 32, etag: '' }])).toThrow(RangeError);
    expect(() => encodeParts([{ number: 1, size: 1, etag: 'x'.repeat(256) }])).toThrow(RangeError);
    expect(() => decodeParts(new Uint8Array([9, 0, 1, 0, 0, 0, 1]))).toThrow(/unknown entry kind/);
    expect(() => decodeParts(encodeParts([s3Part(1)]).subarray(0, 20))).toThrow(/truncated/);
  });
});
