import { describe, expect, it } from 'vitest';
import { joinIntoPart } from '../../functions/core/upload/part-buffers';

describe('joinIntoPart', () => {
  const CAPACITY = 1000; // a size no other test uses: the kept arrays are per part size

  it('joins chunks into a view of exactly their bytes', () => {
    const part = joinIntoPart([Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(4, 5, 6)], 6, CAPACITY);
    expect([...part.bytes]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(part.bytes.buffer.byteLength).toBe(CAPACITY);
    part.release();
  });

  it('hands out an array again only after it was released, and keeps at most two', () => {
    const first = joinIntoPart([Uint8Array.of(1)], 1, CAPACITY + 1);
    const second = joinIntoPart([Uint8Array.of(2)], 1, CAPACITY + 1);
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer); // the first is still being read
    const third = joinIntoPart([Uint8Array.of(3)], 1, CAPACITY + 1);
    first.release();
    first.release(); // a second release must not put it in twice
    second.release();
    third.release(); // beyond the two kept
    const again = [joinIntoPart([Uint8Array.of(4)], 1, CAPACITY + 1), joinIntoPart([Uint8Array.of(5)], 1, CAPACITY + 1), joinIntoPart([Uint8Array.of(6)], 1, CAPACITY + 1)];
    const buffers = again.map((part) => part.bytes.buffer);
    expect(new Set(buffers).size).toBe(3);
    expect(buffers).toContain(first.bytes.buffer);
    expect(buffers).toContain(second.bytes.buffer);
    expect(buffers).not.toContain(third.bytes.buffer);
    expect(again.map((part) => part.bytes[0])).toEqual([4, 5, 6]);
  });

  it('refuses a part larger than the arrays of its size', () => {
    expect(() => joinIntoPart([new Uint8Array(11)], 11, 10)).toThrow(RangeError);
  });
});
