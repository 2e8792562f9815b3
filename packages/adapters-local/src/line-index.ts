// Every this many seqs, remember where the line starts, so reads from a seq need not scan from 0.
const INDEX_STRIDE = 256;

/** Byte offsets of every INDEX_STRIDE-th line of one chain's file, learned while reading and writing. */
export class LineIndex {
  private readonly offsets = new Map<number, number>();

  learn(seq: number, offset: number): void {
    if (seq % INDEX_STRIDE === 0) this.offsets.set(seq / INDEX_STRIDE, offset);
  }

  /** The nearest known line at or before `seq`. */
  before(seq: number): { seq: number; offset: number } {
    for (let k = Math.floor(seq / INDEX_STRIDE); k > 0; k--) {
      const offset = this.offsets.get(k);
      if (offset !== undefined) return { seq: k * INDEX_STRIDE, offset };
    }
    return { seq: 0, offset: 0 };
  }
}
