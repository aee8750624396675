import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  issueClientSvid,
  issueDeviceCertificate,
  type SvidIssuer,
  loadIssuer,
} from '../client/identities.js';
import { LegacyClient, Rc3Client } from '../client/margo-client.js';
import { request, type RawResponse } from '../client/transport.js';
import { ensureAdminToken } from '../infra/bootstrap/admin-token.js';
import { devPkiPaths } from '../infra/tls/dev-pki.js';
import { type AgentClient, type AgentEvent, SimulatedAgent, type SimulatedDevice } from './agent.js';
import type { FailureMatcher } from './failure-matcher.js';
import type { CallRecorder } from './recorder.js';

/** Runs many simulated agents in one process: enrollment, churn, live progress and a summary. */

/** Where the WFM is and how to act as its operator and as its clients' CA. */
export interface WfmAccess {
  url: string;
  /** Trust bundle (PEM) for the WFM's certificate. */
  ca: string;
  adminToken: string;
  /** Issues rc.3 client SVIDs (the development CA). */
  issuer: SvidIssuer;
  /** The WFM's SPIFFE ID, checked by rc.3 clients (DNS/IP otherwise). */
  wfmSpiffeId?: string;
}

/** The local defaults: CA and key from WFM_DATA_DIR/pki, admin token from WFM_ADMIN_TOKEN or the data dir. */
export async function loadLocalAccess(options: {
  url: string;
  dataDir: string;
  adminToken?: string;
  trustDomain: string;
  wfmId: string;
}): Promise<WfmAccess> {
  const paths = devPkiPaths(options.dataDir);
  let caPem: string;
  let caKeyPem: string;
  try {
    caPem = await readFile(paths.caPath, 'utf8');
    caKeyPem = await readFile(paths.caKeyPath, 'utf8');
  } catch {
    throw new Error(`No development CA at ${paths.caPath}: start the service once (npm start) to create it.`);
  }
  const { token } = await ensureAdminToken(options.dataDir, options.adminToken);
  return {
    url: options.url,
    ca: caPem,
    adminToken: token,
    issuer: await loadIssuer(caPem, caKeyPem, options.trustDomain, options.wfmId),
    wfmSpiffeId: `spiffe://${options.trustDomain}/margo/wfm/${options.wfmId}`,
  };
}

/** One operator API call with the admin token (JSON body). */
export function operatorCall(
  access: WfmAccess,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RawResponse> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return request(new URL(`/operator/v1${path}`, access.url), {
    method,
    ca: access.ca,
    headers: {
      authorization: `Bearer ${access.adminToken}`,
      ...(payload === undefined ? {} : { 'content-type': contentType }),
    },
    body: payload,
  });
}

async function expectStatus(res: Promise<RawResponse>, what: string, ok: number[]): Promise<RawResponse> {
  const r = await res;
  if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${r.text().slice(0, 300)}`);
  return r;
}

/** Mints an rc.3 SVID, accepts the client through the operator API and returns its device client. */
export async function enrollRc3(access: WfmAccess, clientId: string): Promise<Rc3Client> {
  const svid = await issueClientSvid(access.issuer, clientId);
  await expectStatus(operatorCall(access, 'PUT', `/clients/${clientId}`), `accept ${clientId}`, [200, 201]);
  return new Rc3Client({
    baseUrl: access.url,
    ca: access.ca,
    certChainPem: svid.certChainPem,
    keyPem: svid.keyPem,
    wfmSpiffeId: access.wfmSpiffeId,
  });
}

/** Onboards a legacy agent with a fresh certificate, approving it when the WFM asks for approval. */
export async function enrollLegacy(access: WfmAccess, name: string): Promise<LegacyClient> {
  const identity = await issueDeviceCertificate(name);
  const { response, client } = await LegacyClient.onboard(access.url, identity, { ca: access.ca });
  if (!client) throw new Error(`onboarding ${name}: ${response.status} ${response.text().slice(0, 300)}`);
  const info = await expectStatus(
    operatorCall(access, 'GET', `/clients/${client.clientId}`),
    'client',
    [200],
  );
  if (info.json<{ state: string }>().state === 'pending') {
    await expectStatus(
      operatorCall(access, 'POST', `/clients/${client.clientId}/approve`),
      `approve ${client.clientId}`,
      [200],
    );
  }
  return client;
}

/** Retires a client (its next request gets 403); 404 is fine. */
export async function retireClient(access: WfmAccess, clientId: string): Promise<void> {
  await expectStatus(
    operatorCall(access, 'DELETE', `/clients/${clientId}`),
    `retire ${clientId}`,
    [204, 404],
  );
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** A varied rc.3-shape capabilities document (arm64/amd64, 2–8 cores, 2–16Gi, compose and/or helm). */
export function simulatedCapabilities(
  deviceId: string,
  random: () => number = Math.random,
  labels: Record<string, string> = { line: pick(random, ['paint', 'assembly']), site: 'plant-1' },
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'device.margo.org/v1alpha1',
    kind: 'DeviceCapabilitiesManifest',
    properties: {
      id: deviceId,
      vendor: 'Acme Industrial',
      modelNumber: pick(random, ['EDGE-2', 'EDGE-4', 'EDGE-8']),
      serialNumber: `SN-${deviceId}`,
      cpus: [{ cores: pick(random, [2, 4, 6, 8]), architecture: pick(random, ['arm64', 'amd64']) }],
      memory: pick(random, ['2Gi', '4Gi', '8Gi', '16Gi']),
      storage: pick(random, ['32Gi', '64Gi', '128Gi']),
      peripherals: [],
      interfaces: [{ type: 'ethernet' }],
      otelCollector: true,
      supportedRuntimes: ['oci'],
      supportedDeploymentTypes: pick(random, [['compose'], ['helm'], ['compose', 'helm']]),
      ...overrides,
    },
    labels,
  };
}

/** A see-thru gateway that hosts nothing itself: identity fields only. */
export function gatewayCapabilities(deviceId: string): Record<string, unknown> {
  return {
    apiVersion: 'device.margo.org/v1alpha1',
    kind: 'DeviceCapabilitiesManifest',
    properties: {
      id: deviceId,
      vendor: 'Acme Industrial',
      modelNumber: 'GW-1',
      serialNumber: `SN-${deviceId}`,
    },
    labels: { site: 'plant-1' },
  };
}

export type Profile = 'rc3' | 'legacy' | 'mixed';

/** An enrolled agent's device client and the client id the WFM knows it by. */
export interface EnrolledClient {
  client: AgentClient & { close(): void };
  clientId: string;
}

export interface FleetOptions {
  access: WfmAccess;
  devices: number;
  profile: Profile;
  pollIntervalMs: number;
  gateways?: number;
  children?: number;
  /** Fraction of devices whose capabilities change per minute. */
  churnPerMinute?: number;
  failureRate?: number;
  /** Devices matching this fail every installation (by device class or reported label). */
  failWhen?: FailureMatcher;
  installDelayMs?: number;
  /** Prefix of client ids (default `sim-<random>`). */
  prefix?: string;
  /** Parallel enrollments (default 8). */
  enrollConcurrency?: number;
  /**
   * Enrolls agent `index` (named `<prefix>-<index + 1>`) instead of the default (mint and accept one rc.3
   * SVID, or onboard a legacy agent, one at a time through the API): e.g. identities prepared in bulk.
   */
  enroll?: (name: string, index: number, profile: 'rc3' | 'legacy') => Promise<EnrolledClient>;
  /** Each agent waits a random part of this before its first call (spreads a large fleet's start). */
  rampUpMs?: number;
  /** Records every device call (route, status, latency) and the status reports acknowledged. */
  recorder?: CallRecorder;
  onEvent?: (event: AgentEvent) => void;
}

export interface FleetStats {
  enrolled: number;
  enrollFailures: number;
  polls: number;
  notModified: number;
  installs: number;
  failures: number;
  removals: number;
  errors: number;
  digestFailures: number;
  securityEvents: number;
  statusReports: number;
  capabilityChanges: number;
  /** Deployments currently installed / failed across the fleet. */
  installed: number;
  failing: number;
  /** Agents that have polled their manifest successfully at least once. */
  polled: number;
  /** Status reports not acknowledged yet, waiting to be sent again. */
  unsentReports: number;
  reportRetries: number;
}

interface Member {
  agent: SimulatedAgent;
  close(): void;
  clientId: string;
}

/** N simulated agents: `start()` enrolls and runs them, `stop()` stops them and closes connections. */
export class Fleet {
  readonly prefix: string;
  private readonly members: Member[] = [];
  private enrollFailures = 0;
  private capabilityChanges = 0;
  private churnTimer: NodeJS.Timeout | undefined;
  private churnPerMinute: number;
  private stopped = false;

  constructor(private readonly options: FleetOptions) {
    this.prefix = options.prefix ?? `sim-${randomBytes(3).toString('hex')}`;
    this.churnPerMinute = options.churnPerMinute ?? 0;
  }

  /** Enrolls every agent (a few at a time) and starts each as soon as it is enrolled. */
  async start(): Promise<void> {
    const indexes = Array.from({ length: this.options.devices }, (_, i) => i);
    const workers = Array.from({ length: this.options.enrollConcurrency ?? 8 }, async () => {
      for (let i = indexes.shift(); i !== undefined && !this.stopped; i = indexes.shift()) {
        await this.enrollOne(i);
      }
    });
    this.startChurn();
    await Promise.all(workers);
  }

  /** Changes the churn rate (fraction of devices per minute) from now on; 0 stops it. */
  setChurn(perMinute: number): void {
    this.churnPerMinute = perMinute;
    if (this.churnTimer) clearInterval(this.churnTimer);
    this.churnTimer = undefined;
    if (!this.stopped) this.startChurn();
  }

  get agents(): SimulatedAgent[] {
    return this.members.map((m) => m.agent);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.churnTimer) clearInterval(this.churnTimer);
    await Promise.all(this.members.map((m) => m.agent.stop()));
    for (const m of this.members) m.close();
  }

  get clientIds(): string[] {
    return this.members.map((m) => m.clientId);
  }

  stats(): FleetStats {
    const s: FleetStats = {
      enrolled: this.members.length,
      enrollFailures: this.enrollFailures,
      polls: 0,
      notModified: 0,
      installs: 0,
      failures: 0,
      removals: 0,
      errors: 0,
      digestFailures: 0,
      securityEvents: 0,
      statusReports: 0,
      capabilityChanges: this.capabilityChanges,
      installed: 0,
      failing: 0,
      polled: 0,
      unsentReports: 0,
      reportRetries: 0,
    };
    for (const { agent } of this.members) {
      const c = agent.counters;
      s.polls += c.polls;
      s.notModified += c.notModified;
      s.installs += c.installs;
      s.failures += c.failures;
      s.removals += c.removals;
      s.errors += c.errors;
      s.digestFailures += c.digestFailures;
      s.securityEvents += c.securityEvents;
      s.statusReports += c.statusReports;
      s.reportRetries += c.reportRetries;
      s.unsentReports += agent.unsentReports;
      if (agent.firstPollAt !== undefined) s.polled += 1;
      for (const d of agent.deployments.values()) {
        if (d.state === 'installed') s.installed += 1;
        if (d.state === 'failed') s.failing += 1;
      }
    }
    return s;
  }

  private profileOf(index: number): 'rc3' | 'legacy' {
    if (this.options.profile === 'mixed') return index % 2 === 0 ? 'rc3' : 'legacy';
    return this.options.profile;
  }

  /** The devices of agent `index`: a gateway with its children for the first `gateways` agents. */
  private devicesOf(index: number): SimulatedDevice[] {
    if (index < (this.options.gateways ?? 0)) {
      const gw = `gw-${index + 1}`;
      const children = Array.from({ length: this.options.children ?? 0 }, (_, k) => ({
        deviceId: `${gw}/cell-${k + 1}`,
        capabilities: simulatedCapabilities(`${gw}/cell-${k + 1}`),
      }));
      return [{ deviceId: gw, capabilities: gatewayCapabilities(gw) }, ...children];
    }
    const id = `edge-${index + 1}`;
    return [{ deviceId: id, capabilities: simulatedCapabilities(id) }];
  }

  private async enrollOne(index: number): Promise<void> {
    const name = `${this.prefix}-${index + 1}`;
    const profile = this.profileOf(index);
    let client: (AgentClient & { close(): void }) | undefined;
    let clientId = name;
    try {
      if (this.options.enroll) {
        ({ client, clientId } = await this.options.enroll(name, index, profile));
      } else if (profile === 'rc3') {
        client = await enrollRc3(this.options.access, name);
      } else {
        const legacy = await enrollLegacy(this.options.access, name);
        clientId = legacy.clientId;
        client = legacy;
      }
    } catch (error) {
      this.enrollFailures += 1;
      this.options.onEvent?.({
        agent: name,
        kind: 'error',
        message: `enrollment failed: ${error instanceof Error ? error.message : String(error)}`,
      });
      return;
    }
    if (this.stopped) {
      client.close();
      return;
    }
    const recorder = this.options.recorder;
    const routePrefix = profile === 'rc3' ? '/api/v1' : '/api/v1/clients/{clientId}';
    const agent = new SimulatedAgent({
      name: clientId,
      client: recorder ? recorder.wrap(clientId, routePrefix, client) : client,
      devices: this.devicesOf(index),
      pollIntervalMs: this.options.pollIntervalMs,
      installDelayMs: this.options.installDelayMs,
      failureRate: this.options.failureRate,
      failWhen: this.options.failWhen,
      initialDelayMs: this.options.rampUpMs ? Math.random() * this.options.rampUpMs : 0,
      onEvent: this.options.onEvent,
    });
    const closable = client;
    this.members.push({ agent, clientId, close: () => closable.close() });
    agent.start();
  }

  /** Every 2 s, each hosting device changes its capabilities with probability churn × 2/60. */
  private startChurn(): void {
    const churn = this.churnPerMinute;
    if (churn <= 0 || this.churnTimer) return;
    const tickMs = 2_000;
    this.churnTimer = setInterval(() => {
      for (const { agent } of this.members) {
        for (const device of agent.devices) {
          if (!device.deviceId.startsWith('gw-') || device.deviceId.includes('/')) {
            if (Math.random() < (churn * tickMs) / 60_000) this.churn(agent, device.deviceId);
          }
        }
      }
    }, tickMs);
  }

  private churn(agent: SimulatedAgent, deviceId: string): void {
    this.capabilityChanges += 1;
    agent.updateCapabilities(deviceId, simulatedCapabilities(deviceId)).catch((error: unknown) => {
      agent.counters.errors += 1;
      this.options.onEvent?.({
        agent: agent.name,
        kind: 'error',
        message: `capability change failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    });
  }
}

/** The one-line progress display. */
export function progressLine(stats: FleetStats, total: number, pollsPerSecond: number): string {
  return (
    `enrolled ${stats.enrolled}/${total}` +
    (stats.enrollFailures ? ` (${stats.enrollFailures} failed)` : '') +
    ` · ${pollsPerSecond.toFixed(1)} polls/s · installed ${stats.installed} · failing ${stats.failing}` +
    ` · errors ${stats.errors}`
  );
}

/** The end-of-run summary, one fact a line. */
export function summaryLines(stats: FleetStats, seconds: number): string[] {
  return [
    `ran ${seconds.toFixed(0)} s with ${stats.enrolled} agents (${stats.enrollFailures} failed to enroll)`,
    `polls ${stats.polls} (${stats.notModified} answered 304, ${(stats.polls / Math.max(seconds, 1)).toFixed(1)}/s)`,
    `installs ${stats.installs}, failed installs ${stats.failures}, removals ${stats.removals}, status reports ${stats.statusReports}` +
      ` (${stats.reportRetries} sent again, ${stats.unsentReports} not acknowledged at the end)`,
    `now installed ${stats.installed}, failing ${stats.failing}`,
    `errors ${stats.errors} (digest failures ${stats.digestFailures}, refused older manifests ${stats.securityEvents})`,
    `capability changes (churn) ${stats.capabilityChanges}`,
  ];
}
