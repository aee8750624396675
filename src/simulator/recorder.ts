import type { RawResponse } from '../client/transport.js';
import type { AgentClient } from './agent.js';

/**
 * What the simulated fleet saw on the wire: every device call with its route, status and latency, and
 * per (client, deployment) how many status reports the WFM acknowledged with 2xx. The fleet simulator
 * prints per-route latencies from it; the load bench computes its figures from it and compares the
 * acknowledged reports with the WFM's status history.
 */

export type CallKind = 'capabilities' | 'manifest' | 'deployment' | 'bundle' | 'status';

export interface CallSample {
  /** Epoch ms when the call started. */
  at: number;
  kind: CallKind;
  /** Method and path template, e.g. `GET /api/v1/deployments`. */
  route: string;
  /** HTTP status; 0 when no answer came (connection refused or reset, timeout, a digest that did not match). */
  status: number;
  /** From the call to the whole answer read (and digest-checked), in ms. */
  ms: number;
  /** Answers ≥ 400: `Content-Type: application/problem+json`. */
  problemJson?: boolean;
  /** Answers ≥ 400: a `Retry-After` header. */
  retryAfter?: boolean;
  /** No answer: the error message. */
  error?: string;
}

/** An answer the device expects in normal operation: 2xx, or 304 to a conditional manifest poll. */
export const isSuccess = (s: Pick<CallSample, 'status' | 'kind'>): boolean =>
  (s.status >= 200 && s.status < 300) || (s.status === 304 && s.kind === 'manifest');

export interface RouteStats {
  route: string;
  kind: CallKind;
  count: number;
  /** Answers per status (`0` = no answer). */
  statuses: Map<number, number>;
  successes: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile of ascending-sorted values (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Per-route figures of some samples, routes in first-seen order. */
export function routeStats(samples: Iterable<CallSample>): RouteStats[] {
  const byRoute = new Map<string, { kind: CallKind; statuses: Map<number, number>; ms: number[] }>();
  for (const s of samples) {
    let r = byRoute.get(s.route);
    if (!r) {
      r = { kind: s.kind, statuses: new Map(), ms: [] };
      byRoute.set(s.route, r);
    }
    r.statuses.set(s.status, (r.statuses.get(s.status) ?? 0) + 1);
    r.ms.push(s.ms);
  }
  return [...byRoute].map(([route, r]) => {
    const sorted = r.ms.sort((a, b) => a - b);
    let successes = 0;
    for (const [status, n] of r.statuses) if (isSuccess({ status, kind: r.kind })) successes += n;
    return {
      route,
      kind: r.kind,
      count: sorted.length,
      statuses: r.statuses,
      successes,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1) ?? Number.NaN,
    };
  });
}

export class CallRecorder {
  readonly samples: CallSample[] = [];
  private readonly acked = new Map<string, Map<string, number>>();

  /** Status reports answered 2xx, per client and deployment. */
  get ackedReports(): ReadonlyMap<string, ReadonlyMap<string, number>> {
    return this.acked;
  }

  get ackedTotal(): number {
    let n = 0;
    for (const perClient of this.acked.values()) for (const c of perClient.values()) n += c;
    return n;
  }

  /** Samples that started in [from, to) (epoch ms). */
  *between(from: number, to: number): Generator<CallSample> {
    for (const s of this.samples) if (s.at >= from && s.at < to) yield s;
  }

  /**
   * The same client, recording each call. `routePrefix`: the profile's path prefix as a template
   * (`/api/v1` for rc.3, `/api/v1/clients/{clientId}` for the legacy profile).
   */
  wrap<C extends AgentClient>(clientId: string, routePrefix: string, client: C): AgentClient {
    const p = routePrefix;
    return {
      putCapabilities: (deviceId, manifest, method) =>
        this.timed('capabilities', `${method ?? 'PUT'} ${p}/capabilities/{deviceId}`, () =>
          client.putCapabilities(deviceId, manifest, method),
        ),
      getManifest: (options) =>
        this.timed('manifest', `GET ${p}/deployments`, () => client.getManifest(options)),
      getDeploymentYaml: (deploymentId, digest, headers) =>
        this.timed('deployment', `GET ${p}/deployments/{deploymentId}/{digest}`, () =>
          client.getDeploymentYaml(deploymentId, digest, headers),
        ),
      getBundle: (digest, headers) =>
        this.timed('bundle', `GET ${p}/bundles/{digest}`, () => client.getBundle(digest, headers)),
      postStatus: async (deploymentId, report, singular) => {
        const res = await this.timed(
          'status',
          `POST ${p}/${singular ? 'deployment' : 'deployments'}/{deploymentId}/status`,
          () => client.postStatus(deploymentId, report, singular),
        );
        if (res.status >= 200 && res.status < 300) {
          let perClient = this.acked.get(clientId);
          if (!perClient) {
            perClient = new Map();
            this.acked.set(clientId, perClient);
          }
          perClient.set(deploymentId, (perClient.get(deploymentId) ?? 0) + 1);
        }
        return res;
      },
    };
  }

  private async timed<R extends RawResponse>(
    kind: CallKind,
    route: string,
    call: () => Promise<R>,
  ): Promise<R> {
    const at = Date.now();
    const t0 = performance.now();
    try {
      const res = await call();
      const sample: CallSample = { at, kind, route, status: res.status, ms: performance.now() - t0 };
      if (res.status >= 400) {
        sample.problemJson = String(res.headers['content-type'] ?? '').startsWith('application/problem+json');
        sample.retryAfter = typeof res.headers['retry-after'] === 'string';
      }
      this.samples.push(sample);
      return res;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.samples.push({ at, kind, route, status: 0, ms: performance.now() - t0, error: message });
      throw error;
    }
  }
}

/** One line per route: requests, answers by status, p50/p99/max latency. */
export function routeLines(stats: RouteStats[], seconds: number): string[] {
  return stats.map((r) => {
    const statuses = [...r.statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${n}× ${s === 0 ? 'no answer' : s}`)
      .join(', ');
    return (
      `${r.route}: ${r.count} (${(r.count / Math.max(seconds, 1)).toFixed(1)}/s; ${statuses}), ` +
      `p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms`
    );
  });
}
