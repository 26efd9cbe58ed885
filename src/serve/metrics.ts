// A few Prometheus metrics in the text exposition format (version 0.0.4), without a client
// library: request counts and latency histograms per route, plus gauges read at scrape time.

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string | number>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(String(v))}"`).join(',')}}`;

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly gauges: [string, string, () => number][] = [];
  private readonly counters: [string, string, () => number][] = [];

  /** Record one finished request. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = JSON.stringify([method, route, status]);
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hk = JSON.stringify([method, route]);
    let h = this.latency.get(hk);
    if (!h) this.latency.set(hk, (h = { counts: new Array<number>(BUCKETS.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  /** A value read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push([name, help, read]);
  }

  /** A monotonically increasing value read at scrape time. */
  counter(name: string, help: string, read: () => number): void {
    this.counters.push([name, help, read]);
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP latentkit_http_requests_total HTTP requests by method, route and status.', '# TYPE latentkit_http_requests_total counter');
    for (const [key, v] of this.requests) {
      const [method, route, status] = JSON.parse(key) as [string, string, number];
      out.push(`latentkit_http_requests_total${labels({ method, route, status })} ${v}`);
    }
    out.push('# HELP latentkit_http_request_duration_seconds HTTP request latency.', '# TYPE latentkit_http_request_duration_seconds histogram');
    for (const [key, h] of this.latency) {
      const [method, route] = JSON.parse(key) as [string, string];
      BUCKETS.forEach((b, i) => out.push(`latentkit_http_request_duration_seconds_bucket${labels({ method, route, le: b })} ${h.counts[i]}`));
      out.push(`latentkit_http_request_duration_seconds_bucket${labels({ method, route, le: '+Inf' })} ${h.count}`);
      out.push(`latentkit_http_request_duration_seconds_sum${labels({ method, route })} ${h.sum}`);
      out.push(`latentkit_http_request_duration_seconds_count${labels({ method, route })} ${h.count}`);
    }
    for (const [name, help, read] of this.counters) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${read()}`);
    for (const [name, help, read] of this.gauges) out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${read()}`);
    return out.join('\n') + '\n';
  }
}
