import { describe, expect, it } from 'vitest';
import { KeyedMutex } from '../../functions/adapters/fs/keyed-mutex';
import { StoreReferenceMissingError, type MetadataStore } from '../../functions/core/index';
import { linkStoredBlob } from '../../functions/core/keyed-lock';
import type { BlobRecord } from '../../functions/core/records';

const digest = `sha256:${'a'.repeat(64)}`;
const record = { digest, size: 3 } as unknown as BlobRecord;

/** The two calls linkStoredBlob makes, scripted; the rest of the store is never reached. */
function metadataWith(getBlob: () => Promise<BlobRecord | undefined>, linkBlob: () => Promise<void>): MetadataStore {
  return { getBlob, linkBlob } as unknown as MetadataStore;
}

describe('linkStoredBlob', () => {
  it('links a stored blob and returns its record; a blob not stored is not linked', async () => {
    const links: string[] = [];
    const stored = metadataWith(async () => record, async () => void links.push('linked'));
    expect(await linkStoredBlob(undefined, stored, 'team/app', digest)).toBe(record);
    expect(await linkStoredBlob(undefined, metadataWith(async () => undefined, async () => void links.push('wrong')), 'team/app', digest)).toBeUndefined();
    expect(links).toEqual(['linked']);
  });

  it('answers undefined when the store refuses the link because collection deleted the blob since the look', async () => {
    const refused = metadataWith(async () => record, async () => {
      throw new StoreReferenceMissingError('blob', digest);
    });
    expect(await linkStoredBlob(undefined, refused, 'team/app', digest)).toBeUndefined();
    const failing = metadataWith(async () => record, async () => {
      throw new Error('disk full');
    });
    await expect(linkStoredBlob(undefined, failing, 'team/app', digest)).rejects.toThrow('disk full');
  });

  it('looks and links under the digest\'s lock, so a collector holding it finishes first', async () => {
    const locks = new KeyedMutex();
    const order: string[] = [];
    let release!: () => void;
    const collector = locks.run(digest, () => new Promise<void>((resolve) => {
      order.push('collector holds the lock');
      release = () => {
        order.push('collector done');
        resolve();
      };
    }));
    const linking = linkStoredBlob(locks, metadataWith(async () => {
      order.push('look');
      return record;
    }, async () => void order.push('link')), 'team/app', digest);
    await Promise.resolve();
    release();
    await Promise.all([collector, linking]);
    expect(order).toEqual(['collector holds the lock', 'collector done', 'look', 'link']);
  });
});
