import { parse } from 'yaml';
import { DigestMismatchError, sha256Digest } from '../client/digest.js';
import { MANIFEST_MEDIA_TYPE, type Rc3Client } from '../client/margo-client.js';
import type { TarEntry } from '../client/tar.js';
import { type FailureMatcher, matchesFailure } from './failure-matcher.js';
import type { RawResponse } from '../client/transport.js';

/**
 * A simulated Margo device agent (WFM Client) for both API profiles: reports capabilities, polls the
 * state manifest with ETags, fetches and verifies ApplicationDeployments, "installs" them and reports
 * every status transition. Used by the fleet simulator and the demo.
 */

/** The device routes an agent needs; `Rc3Client` and `LegacyClient` both provide them. */
export type AgentClient = Pick<
  Rc3Client,
  'putCapabilities' | 'getManifest' | 'getBundle' | 'getDeploymentYaml' | 'postStatus'
>;

/** One device the agent speaks for: a top-level device, a gateway or a gateway's child (`gw/child`). */
export interface SimulatedDevice {
  deviceId: string;
  capabilities: unknown;
}

export type DeploymentState = 'pending' | 'installing' | 'installed' | 'failed' | 'removing' | 'removed';

export interface AgentEvent {
  agent: string;
  kind: 'status' | 'manifest' | 'error' | 'security';
  message: string;
}

export interface AgentOptions {
  /** A name for events (usually the client id). */
  name: string;
  client: AgentClient;
  /** Parent devices first: a gateway is reported before its children. */
  devices: SimulatedDevice[];
  pollIntervalMs: number;
  /** Fraction of the poll interval added or removed at random (default 0.2). */
  jitter?: number;
  /** Time each component takes to install or remove (default 0). */
  installDelayMs?: number;
  /** Probability that one component's installation fails (default 0). */
  failureRate?: number;
  /** Devices matching this fail every installation (`--fail-when`). */
  failWhen?: FailureMatcher;
  /** Upper bound of the exponential backoff after errors (default 60 s). */
  maxBackoffMs?: number;
  /** Wait this long before the first call (spreads a large fleet's start; default 0). */
  initialDelayMs?: number;
  random?: () => number;
  onEvent?: (event: AgentEvent) => void;
}

export interface AgentCounters {
  polls: number;
  notModified: number;
  manifests: number;
  installs: number;
  failures: number;
  removals: number;
  errors: number;
  digestFailures: number;
  securityEvents: number;
  /** Status reports the WFM acknowledged (2xx). */
  statusReports: number;
  /** Status reports sent again after a failed attempt (the latest state of a deployment only). */
  reportRetries: number;
}

/** What the agent runs now: one entry per ApplicationDeployment it adopted. */
export interface InstalledDeployment {
  deploymentId: string;
  digest: string;
  deviceId: string;
  components: string[];
  state: DeploymentState;
}

interface ManifestEntry {
  deploymentId: string;
  digest: string;
}

interface StateManifest {
  manifestVersion: number;
  bundle: { digest: string } | null;
  deployments: ManifestEntry[];
}

/** A failed call: HTTP status and the server's Retry-After, when it gave one. */
export class AgentHttpError extends Error {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    what: string,
  ) {
    super(`${what} answered ${status}`);
    this.name = 'AgentHttpError';
  }
}

/** Retry-After in milliseconds (delta-seconds or HTTP date), or undefined. */
export function retryAfterMs(res: RawResponse): number | undefined {
  const value = res.headers['retry-after'];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function expectOk(res: RawResponse, what: string, ok: number[] = [200, 201]): RawResponse {
  if (!ok.includes(res.status)) throw new AgentHttpError(res.status, retryAfterMs(res), what);
  return res;
}

/** The fields the agent reads from an ApplicationDeployment YAML (both profiles' layouts). */
export function readDeployment(yamlText: string): { id: string; deviceId: string; components: string[] } {
  const doc = parse(yamlText) as {
    id?: string;
    metadata?: { deviceId?: string; annotations?: { id?: string } };
    spec?: { deploymentProfile?: { components?: { name?: string }[] } };
  } | null;
  const id = doc?.id ?? doc?.metadata?.annotations?.id;
  const deviceId = doc?.metadata?.deviceId;
  if (!id || !deviceId) throw new Error('ApplicationDeployment without id or metadata.deviceId');
  const components = (doc?.spec?.deploymentProfile?.components ?? [])
    .map((c) => c.name)
    .filter((n): n is string => typeof n === 'string');
  return { id, deviceId, components };
}

/** One simulated agent. `start()` runs it until `stop()`; no timers remain after `stop()` resolves. */
export class SimulatedAgent {
  readonly counters: AgentCounters = {
    polls: 0,
    notModified: 0,
    manifests: 0,
    installs: 0,
    failures: 0,
    removals: 0,
    errors: 0,
    digestFailures: 0,
    securityEvents: 0,
    statusReports: 0,
    reportRetries: 0,
  };
  /** The stored ETag and manifestVersion of the last manifest adopted. */
  etag: string | undefined;
  manifestVersion = 0;
  readonly deployments = new Map<string, InstalledDeployment>();

  private stopped = false;
  private running: Promise<void> | undefined;
  /** Pending sleeps (poll wait and install steps), each with the function that ends it early. */
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private capabilitiesReported = false;
  private consecutiveErrors = 0;
  /**
   * Status reports the WFM did not acknowledge, the latest per deployment: sent again before the next
   * poll, as a real agent keeps reporting its current state until the WFM has it.
   */
  private readonly unsent = new Map<string, Record<string, unknown>>();
  /** The first failed status report of this loop iteration (the loop backs off on it). */
  private reportError: Error | undefined;
  /** Set once the first successful poll has happened. */
  firstPollAt: number | undefined;
  private readonly random: () => number;

  constructor(private readonly options: AgentOptions) {
    this.random = options.random ?? Math.random;
  }

  get name(): string {
    return this.options.name;
  }

  get devices(): readonly SimulatedDevice[] {
    return this.options.devices;
  }

  /** Status reports waiting to be sent again. */
  get unsentReports(): number {
    return this.unsent.size;
  }

  /** Starts the loop: capabilities first (retried), then polling. Resolves at once. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops polling and any pending install step; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelSleep();
    await this.running;
  }

  /** Replaces one device's capabilities and reports them now (churn). */
  async updateCapabilities(deviceId: string, capabilities: unknown): Promise<void> {
    const device = this.options.devices.find((d) => d.deviceId === deviceId);
    if (!device) throw new Error(`${this.name} has no device ${deviceId}`);
    device.capabilities = capabilities;
    try {
      expectOk(
        await this.options.client.putCapabilities(deviceId, capabilities),
        `PUT capabilities ${deviceId}`,
      );
    } catch (error) {
      this.capabilitiesReported = false; // the loop reports them again before its next poll
      throw error;
    }
  }

  /** Reports every device's capabilities, parent first. */
  async reportCapabilities(): Promise<void> {
    for (const device of this.options.devices) {
      const res = await this.options.client.putCapabilities(device.deviceId, device.capabilities);
      expectOk(res, `PUT capabilities ${device.deviceId}`);
    }
  }

  /** One poll: GET the manifest with If-None-Match and act on a new one. */
  async pollOnce(): Promise<void> {
    this.counters.polls += 1;
    const res = await this.options.client.getManifest({
      ifNoneMatch: this.etag,
      accept: MANIFEST_MEDIA_TYPE,
    });
    if (res.status === 304) {
      this.counters.notModified += 1;
      return;
    }
    expectOk(res, 'GET manifest', [200]);
    const manifest = res.json<StateManifest>();
    if (manifest.manifestVersion < this.manifestVersion) {
      this.counters.securityEvents += 1;
      this.emit(
        'security',
        `refused manifestVersion ${manifest.manifestVersion} (older than ${this.manifestVersion})`,
      );
      return;
    }
    this.counters.manifests += 1;
    await this.adopt(manifest, typeof res.headers.etag === 'string' ? res.headers.etag : undefined);
  }

  private async loop(): Promise<void> {
    if (this.options.initialDelayMs) await this.sleep(this.options.initialDelayMs);
    while (!this.stopped) {
      let delay: number;
      try {
        if (!this.capabilitiesReported) {
          this.capabilitiesReported = true;
          try {
            await this.reportCapabilities();
          } catch (error) {
            this.capabilitiesReported = false;
            throw error;
          }
        }
        await this.flushReports();
        await this.pollOnce();
        this.firstPollAt ??= Date.now();
        if (this.reportError !== undefined) {
          const error = this.reportError;
          this.reportError = undefined;
          throw error;
        }
        this.consecutiveErrors = 0;
        delay = this.jittered(this.options.pollIntervalMs);
      } catch (error) {
        delay = this.onError(error);
      }
      await this.sleep(delay);
    }
  }

  private onError(error: unknown): number {
    this.reportError = undefined;
    this.counters.errors += 1;
    if (error instanceof DigestMismatchError) this.counters.digestFailures += 1;
    this.consecutiveErrors += 1;
    this.emit('error', error instanceof Error ? error.message : String(error));
    const backoff = Math.min(
      this.options.maxBackoffMs ?? 60_000,
      this.options.pollIntervalMs * 2 ** Math.min(this.consecutiveErrors - 1, 10),
    );
    const retryAfter = error instanceof AgentHttpError ? error.retryAfterMs : undefined;
    return Math.max(this.jittered(backoff), retryAfter ?? 0);
  }

  /** Fetches what changed, verifies it, installs new and changed deployments, removes the rest. */
  private async adopt(manifest: StateManifest, etag: string | undefined): Promise<void> {
    const changed = manifest.deployments.filter(
      (e) => this.deployments.get(e.deploymentId)?.digest !== e.digest,
    );
    const wanted = new Set(manifest.deployments.map((e) => e.deploymentId));
    const gone = [...this.deployments.values()].filter((d) => !wanted.has(d.deploymentId));
    const documents = await this.fetch(manifest, changed);
    this.etag = etag;
    this.manifestVersion = manifest.manifestVersion;
    if (changed.length > 0 || gone.length > 0) {
      this.emit(
        'manifest',
        `manifest ${manifest.manifestVersion}: ${changed.length} new/changed, ${gone.length} gone`,
      );
    }
    const version = manifest.manifestVersion;
    await Promise.all([
      ...changed.map((entry) => this.install(entry, documents.get(entry.deploymentId)!, version)),
      ...gone.map((d) => this.remove(d, version)),
    ]);
  }

  /** The YAML text of each changed entry: from the bundle when more than two changed, else one by one. */
  private async fetch(manifest: StateManifest, changed: ManifestEntry[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (changed.length === 0) return out;
    if (manifest.bundle && changed.length > 2) {
      const res = await this.options.client.getBundle(manifest.bundle.digest);
      expectOk(res, 'GET bundle', [200]);
      const entries = new Map((res.entries ?? []).map((e: TarEntry) => [e.name, e.body]));
      for (const entry of changed) {
        const body = entries.get(`${entry.deploymentId}.yaml`);
        if (!body) throw new Error(`bundle has no ${entry.deploymentId}.yaml`);
        const actual = sha256Digest(body);
        if (actual !== entry.digest) throw new DigestMismatchError(entry.digest, actual);
        out.set(entry.deploymentId, body.toString('utf8'));
      }
      return out;
    }
    for (const entry of changed) {
      const res = await this.options.client.getDeploymentYaml(entry.deploymentId, entry.digest);
      out.set(entry.deploymentId, expectOk(res, `GET deployment ${entry.deploymentId}`, [200]).text());
    }
    return out;
  }

  private async install(entry: ManifestEntry, yamlText: string, version: number): Promise<void> {
    const doc = readDeployment(yamlText);
    const deployment: InstalledDeployment = {
      deploymentId: entry.deploymentId,
      digest: entry.digest,
      deviceId: doc.deviceId,
      components: doc.components,
      state: 'pending',
    };
    this.deployments.set(entry.deploymentId, deployment);
    const states = new Map<string, DeploymentState>(doc.components.map((c) => [c, 'pending']));
    await this.report(deployment, 'pending', states, version);
    for (const component of doc.components) states.set(component, 'installing');
    await this.report(deployment, 'installing', states, version);
    let failed: string | undefined;
    const device = this.options.devices.find((d) => d.deviceId === doc.deviceId);
    const alwaysFails = matchesFailure(this.options.failWhen, device?.capabilities);
    for (const component of doc.components) {
      if (!(await this.sleep(this.options.installDelayMs ?? 0))) return;
      const fails = alwaysFails || this.random() < (this.options.failureRate ?? 0);
      states.set(component, fails ? 'failed' : 'installed');
      failed ??= fails ? component : undefined;
    }
    if (failed) this.counters.failures += 1;
    else this.counters.installs += 1;
    await this.report(deployment, failed ? 'failed' : 'installed', states, version, failed);
  }

  private async remove(deployment: InstalledDeployment, version: number): Promise<void> {
    const states = new Map<string, DeploymentState>(deployment.components.map((c) => [c, 'removing']));
    await this.report(deployment, 'removing', states, version);
    if (!(await this.sleep(this.options.installDelayMs ?? 0))) return;
    for (const component of deployment.components) states.set(component, 'removed');
    await this.report(deployment, 'removed', states, version);
    this.deployments.delete(deployment.deploymentId);
    this.counters.removals += 1;
  }

  /** Sends the reports the WFM has not acknowledged yet; throws at the first that fails again. */
  private async flushReports(): Promise<void> {
    for (const [deploymentId, body] of [...this.unsent]) {
      if (this.stopped) return;
      this.counters.reportRetries += 1;
      const res = await this.options.client.postStatus(deploymentId, body);
      expectOk(res, `POST status ${deploymentId} (again)`);
      if (this.unsent.get(deploymentId) === body) this.unsent.delete(deploymentId);
      this.counters.statusReports += 1;
    }
  }

  /**
   * POSTs one DeploymentStatusManifest (deviceId only for a gateway's child). When the WFM does not
   * acknowledge it, the installation goes on: the report is kept (replacing an older unsent one of the
   * same deployment) and sent again before the next poll, and the loop backs off.
   */
  private async report(
    deployment: InstalledDeployment,
    state: DeploymentState,
    components: Map<string, DeploymentState>,
    version: number,
    failedComponent?: string,
  ): Promise<void> {
    deployment.state = state;
    const error = (name: string) => ({ code: 'DEPLOYMENT_ERROR', message: `simulated failure of ${name}` });
    const body = {
      apiVersion: 'deployment.margo.org/v1alpha1',
      kind: 'DeploymentStatusManifest',
      deploymentId: deployment.deploymentId,
      ...(deployment.deviceId.includes('/') ? { deviceId: deployment.deviceId } : {}),
      adoptedManifestVersion: version,
      status: { state, ...(failedComponent ? { error: error(failedComponent) } : {}) },
      components: [...components].map(([name, s]) => ({
        name,
        state: s,
        ...(s === 'failed' ? { error: error(name) } : {}),
      })),
    };
    this.unsent.delete(deployment.deploymentId);
    try {
      const res = await this.options.client.postStatus(deployment.deploymentId, body);
      expectOk(res, `POST status ${deployment.deploymentId}`);
    } catch (error) {
      this.unsent.set(deployment.deploymentId, body);
      this.reportError ??= error instanceof Error ? error : new Error(String(error));
      return;
    }
    this.counters.statusReports += 1;
    this.emit('status', `${deployment.deviceId} ${deployment.deploymentId} ${state} (manifest ${version})`);
  }

  private jittered(ms: number): number {
    const jitter = this.options.jitter ?? 0.2;
    return Math.max(0, Math.round(ms * (1 + jitter * (2 * this.random() - 1))));
  }

  /** Waits `ms`; resolves false when stopped meanwhile (no timer survives `stop()`). */
  private sleep(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(timer);
        resolve(!this.stopped);
      };
      this.sleepers.set(timer, done);
    });
  }

  private cancelSleep(): void {
    for (const done of [...this.sleepers.values()]) done();
  }

  private emit(kind: AgentEvent['kind'], message: string): void {
    this.options.onEvent?.({ agent: this.name, kind, message });
  }
}
