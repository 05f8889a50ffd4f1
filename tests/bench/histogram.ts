// A log-linear latency histogram in the spirit of HdrHistogram: fixed memory,
// constant-time recording, and a bounded relative error at every magnitude.
//
// Values are recorded in whole microseconds. Bucket 0 counts every value
// below SUB_BUCKETS (2,048 µs) exactly. Above that, bucket b (b ≥ 1) covers
// [SUB_BUCKETS·2^(b-1), SUB_BUCKETS·2^b) with HALF slots of width 2^b each,
// so a recorded value is off by at most 1/1024 (≈ 0.1 %) of itself.

const SUB_BUCKET_BITS = 11;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS; // 2048
const HALF = SUB_BUCKETS >> 1; // 1024
/** Highest bucket: covers values up to 2048 · 2^17 µs ≈ 268 s. Anything above is clamped there. */
const MAX_BUCKET = 17;
const SLOTS = SUB_BUCKETS + MAX_BUCKET * HALF;
const HIGHEST = SUB_BUCKETS * 2 ** MAX_BUCKET - 1;

export interface Percentiles {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export class Histogram {
  private readonly counts = new Float64Array(SLOTS);
  private total = 0;
  private sum = 0;
  private minUs = Infinity;
  private maxUs = 0;

  /** Record one latency given in milliseconds (fractions welcome). */
  recordMs(ms: number): void {
    this.recordUs(ms * 1000);
  }

  recordUs(us: number): void {
    if (!Number.isFinite(us)) return;
    const v = Math.min(HIGHEST, Math.max(0, Math.round(us)));
    this.counts[slotOf(v)]! += 1;
    this.total += 1;
    this.sum += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  get count(): number {
    return this.total;
  }

  /** Add another histogram's counts to this one. */
  add(other: Histogram): void {
    for (let i = 0; i < SLOTS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /**
   * The value (µs) at or below which `p` percent of the recorded values lie.
   * Like HdrHistogram, the answer is the top of the slot the value fell in,
   * capped by the largest value actually seen (so pXX never exceeds max).
   */
  valueAtPercentileUs(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < SLOTS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.max(this.minUs, Math.min(this.maxUs, highestInSlot(i)));
    }
    return this.maxUs;
  }

  /** Summary in milliseconds. An empty histogram gives count 0 and NaN elsewhere. */
  summaryMs(): Percentiles {
    const ms = (us: number): number => us / 1000;
    if (this.total === 0) return { count: 0, min: NaN, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
    return {
      count: this.total,
      min: ms(this.minUs),
      mean: ms(this.sum / this.total),
      p50: ms(this.valueAtPercentileUs(50)),
      p90: ms(this.valueAtPercentileUs(90)),
      p99: ms(this.valueAtPercentileUs(99)),
      max: ms(this.maxUs),
    };
  }
}

function slotOf(v: number): number {
  if (v < SUB_BUCKETS) return v;
  const bucket = 31 - Math.clz32(v) - SUB_BUCKET_BITS + 1; // floor(log2 v) - 10, ≥ 1 (v < 2^31)
  const width = 2 ** bucket;
  const start = SUB_BUCKETS * 2 ** (bucket - 1);
  return SUB_BUCKETS + (bucket - 1) * HALF + Math.floor((v - start) / width);
}

function highestInSlot(slot: number): number {
  if (slot < SUB_BUCKETS) return slot;
  const bucket = Math.floor((slot - SUB_BUCKETS) / HALF) + 1;
  const offset = (slot - SUB_BUCKETS) % HALF;
  const width = 2 ** bucket;
  return SUB_BUCKETS * 2 ** (bucket - 1) + (offset + 1) * width - 1;
}
