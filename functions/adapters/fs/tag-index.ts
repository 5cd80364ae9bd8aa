import { join } from 'node:path';
import { readText } from './atomic';
import { listDir } from './files';
import { unescapeTag } from './paths';
import { SortedSet } from './sorted-set';

/** A repository's tags, name → digest, with a sorted view for paging. */
export class TagIndex {
  readonly names: SortedSet;
  private constructor(private readonly digests: Map<string, string>) {
    this.names = new SortedSet(digests.keys());
  }

  static async load(dir: string): Promise<TagIndex> {
    const files = await listDir(dir);
    const entries = await Promise.all(files.map(async (file) => [unescapeTag(file), (await readText(join(dir, file)))?.trim()] as const));
    return new TagIndex(new Map(entries.filter((e): e is readonly [string, string] => Boolean(e[1]))));
  }

  get(tag: string): string | undefined {
    return this.digests.get(tag);
  }
  set(tag: string, digest: string): void {
    this.digests.set(tag, digest);
    this.names.add(tag);
  }
  delete(tag: string): void {
    this.digests.delete(tag);
    this.names.delete(tag);
  }
  entries(): Array<[string, string]> {
    return [...this.digests];
  }
  pointingTo(digest: string): string[] {
    return [...this.digests].filter(([, d]) => d === digest).map(([tag]) => tag);
  }
}
