/**
 * Reading the service's own Prometheus metrics (`GET /metrics`) in a bench: histograms between two
 * scrapes, grouped by some labels, with quantiles interpolated inside the buckets (as Prometheus'
 * `histogram_quantile`), and plain gauge values.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const l of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2];
    }
    out.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return out;
}

export interface Histogram {
  /** Cumulative count per upper bound (Infinity last). */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** The histogram `name` of one scrape, one per value of `key(labels)` (undefined keys left out). */
export function histogramsOf(
  samples: PromSample[],
  name: string,
  key: (labels: Record<string, string>) => string | undefined,
): Map<string, Histogram> {
  const out = new Map<string, Histogram>();
  for (const s of samples) {
    if (!s.name.startsWith(name)) continue;
    const k = key(s.labels);
    if (k === undefined) continue;
    let h = out.get(k);
    if (!h) {
      h = { buckets: new Map(), sum: 0, count: 0 };
      out.set(k, h);
    }
    if (s.name === `${name}_bucket`) {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      h.buckets.set(le, (h.buckets.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_sum`) h.sum += s.value;
    else if (s.name === `${name}_count`) h.count += s.value;
  }
  return out;
}

/** What was observed between two scrapes of one histogram (`a` undefined: since the start). */
export function histogramDelta(a: Histogram | undefined, b: Histogram): Histogram {
  const buckets = new Map<number, number>();
  for (const [le, n] of b.buckets) buckets.set(le, n - (a?.buckets.get(le) ?? 0));
  return { buckets, sum: b.sum - (a?.sum ?? 0), count: b.count - (a?.count ?? 0) };
}

/** Several deltas of one histogram as one. */
export function histogramSum(parts: Histogram[]): Histogram {
  const buckets = new Map<number, number>();
  for (const p of parts) for (const [le, n] of p.buckets) buckets.set(le, (buckets.get(le) ?? 0) + n);
  return {
    buckets,
    sum: parts.reduce((s, p) => s + p.sum, 0),
    count: parts.reduce((s, p) => s + p.count, 0),
  };
}

/**
 * The histogram `name` between two scrapes, one per value of `key(labels)` (series whose key is
 * undefined, and series with no observation in between, are left out).
 */
export function histogramsBetween(
  before: PromSample[],
  after: PromSample[],
  name: string,
  key: (labels: Record<string, string>) => string | undefined,
): Map<string, Histogram> {
  const a = histogramsOf(before, name, key);
  const out = new Map<string, Histogram>();
  for (const [k, hb] of histogramsOf(after, name, key)) {
    const delta = histogramDelta(a.get(k), hb);
    if (delta.count > 0) out.set(k, delta);
  }
  return out;
}

/** The q-quantile, interpolated linearly inside its bucket; the highest finite bound when above it. */
export function histogramQuantile(h: Histogram, q: number): number {
  const bounds = [...h.buckets.keys()].sort((x, y) => x - y);
  const total = h.buckets.get(Infinity) ?? h.count;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const le of bounds) {
    const cumulative = h.buckets.get(le) ?? 0;
    if (cumulative >= rank) {
      if (le === Infinity) return lower;
      const inBucket = cumulative - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = cumulative;
  }
  return lower;
}

/** Observations above `bound` (which must be a bucket bound). */
export function countAbove(h: Histogram, bound: number): number {
  const total = h.buckets.get(Infinity) ?? h.count;
  return total - (h.buckets.get(bound) ?? Number.NaN);
}

/** The value of a gauge (the first series with that name), NaN when absent. */
export function gauge(samples: PromSample[], name: string): number {
  return samples.find((s) => s.name === name)?.value ?? Number.NaN;
}
