/**
 * A sorted array of strings with binary-search paging, so listing a page costs the same
 * at 10 entries and at 10,000.
 */
export class SortedSet {
  private readonly items: string[] = [];

  constructor(initial: Iterable<string> = []) {
    this.items = [...new Set(initial)].sort(compare);
  }

  get size(): number {
    return this.items.length;
  }

  has(value: string): boolean {
    const index = this.lowerBound(value);
    return this.items[index] === value;
  }

  add(value: string): void {
    const index = this.lowerBound(value);
    if (this.items[index] !== value) this.items.splice(index, 0, value);
  }

  delete(value: string): void {
    const index = this.lowerBound(value);
    if (this.items[index] === value) this.items.splice(index, 1);
  }

  /** Up to `limit` items strictly after `after`, and whether more follow. */
  page(limit: number, after?: string): { items: string[]; more: boolean } {
    const start = after === undefined ? 0 : this.upperBound(after);
    const items = this.items.slice(start, start + limit);
    return { items, more: start + limit < this.items.length };
  }

  private lowerBound(value: string): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compare(this.items[mid]!, value) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private upperBound(value: string): number {
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compare(this.items[mid]!, value) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Lexical order by code unit, as the spec's "lexical" listing expects (not locale order). */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
