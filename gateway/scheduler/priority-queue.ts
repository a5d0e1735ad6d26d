/** Anything kept in a PriorityQueue remembers where it sits, so it can be removed in O(log n). */
export interface HeapItem {
  heapIndex: number;
}

/**
 * A binary min-heap by `before`: `before(a, b)` is true when `a` must come out first. The index
 * kept on each item makes removing a waiter that timed out O(log n) instead of a scan.
 */
export class PriorityQueue<T extends HeapItem> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top) this.removeAt(0);
    return top;
  }

  /** Returns false when the item is not in this queue. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  /** Empties the queue and returns what it held, in no particular order. */
  drain(): T[] {
    const all = this.items.splice(0);
    for (const item of all) item.heapIndex = -1;
    return all;
  }

  private removeAt(i: number): void {
    const removed = this.items[i]!;
    const last = this.items.pop()!;
    removed.heapIndex = -1;
    if (last === removed) return;
    this.items[i] = last;
    last.heapIndex = i;
    // The replacement may belong above or below its new place.
    this.up(i);
    this.down(last.heapIndex);
  }

  private up(i: number): void {
    const item = this.items[i]!;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = this.items[parentIndex]!;
      if (!this.before(item, parent)) break;
      this.place(parent, i);
      i = parentIndex;
    }
    this.place(item, i);
  }

  private down(i: number): void {
    const n = this.items.length;
    const item = this.items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.before(this.items[right]!, this.items[left]!) ? right : left;
      if (!this.before(this.items[child]!, item)) break;
      this.place(this.items[child]!, i);
      i = child;
    }
    this.place(item, i);
  }

  private place(item: T, i: number): void {
    this.items[i] = item;
    item.heapIndex = i;
  }
}
