import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../../src/client/transport.js';
import {
  type AgentClient,
  type AgentEvent,
  SimulatedAgent,
  type SimulatedDevice,
} from '../../src/simulator/agent.js';
import { readExample } from '../../src/simulator/demo.js';
import {
  enrollLegacy,
  enrollRc3,
  gatewayCapabilities,
  operatorCall,
  simulatedCapabilities,
  type WfmAccess,
} from '../../src/simulator/fleet.js';
import { startCluster, type WfmCluster } from '../support/cluster.js';
import { readEventLog } from '../support/sse.js';

/**
 * End to end (issue #8 item 4): the service as separate processes — a worker and two API instances on
 * one database and Redis prefix — and 24 simulated Margo agents with 30 devices (half rc.3, half
 * legacy; an rc.3 and a legacy gateway with three cells each), each profile split across both API
 * instances. The demo's flow (publish the example package, deploy to a label selector, placement with
 * the devices that do not fit and why, installs, a parameter change rolling through), then a capability
 * change moving two devices out of placement (removed from their manifests, onCapabilityLoss=remove)
 * and back in, and a deletion. Every outcome is checked through the operator API, and against what the
 * agents themselves hold. Bounded: the file finishes in under 60 s.
 */

const AGENTS = 24;
const CELLS = 3;
/** Devices line-monitor fits: the gateways' cells and the ordinary hosts (agents 6…). */
const PLACED = 2 * CELLS + (AGENTS - 6);
const POLL_MS = 500;
const STEP_TIMEOUT_MS = 15_000;
const BUDGET_MS = 60_000;
const APPLICATION_ID = 'com-example-line-monitor';

interface Target {
  clientId: string;
  deviceId: string;
  deploymentId: string;
  placement: string;
  reasons: string[];
  inManifest: boolean;
  digest: string | null;
  manifestVersion: string | null;
  derivedState?: string;
  parameters: { name: string; value: unknown; source: string }[];
  status?: { state?: string; adoptedManifestVersion?: string | null } | null;
}

interface PlannedAgent {
  index: number;
  name: string;
  profile: 'rc3' | 'legacy';
  /** Which API instance this agent talks to. */
  api: number;
  devices: SimulatedDevice[];
}

interface RunningAgent extends PlannedAgent {
  clientId: string;
  agent: SimulatedAgent;
  client: AgentClient & { close(): void };
}

const key = (clientId: string, deviceId: string) => `${clientId}|${deviceId}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Host capabilities with fixed values (the simulator's document shape; no randomness). */
function host(
  deviceId: string,
  labels: Record<string, string>,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return simulatedCapabilities(deviceId, () => 0.5, labels, {
    cpus: [{ cores: 4, architecture: 'arm64' }],
    memory: '4Gi',
    storage: '64Gi',
    supportedDeploymentTypes: ['helm', 'compose'],
    ...overrides,
  });
}

/**
 * The fleet: agent 0 an rc.3 gateway and agent 1 a legacy gateway with three cells each; agents 2 and 3
 * too small for line-monitor (memory; no Helm); agents 4 and 5 on another line; the rest ordinary
 * hosts of varied sizes. Even agents are rc.3, odd ones legacy; pairs alternate between API A and B.
 */
function plan(run: string, line: string): PlannedAgent[] {
  const labels = { line, site: 'plant-1' };
  return Array.from({ length: AGENTS }, (_, index) => {
    const profile = index % 2 === 0 ? 'rc3' : 'legacy';
    const api = Math.floor(index / 2) % 2;
    const name = `e2e-${run}-${index + 1}`;
    let devices: SimulatedDevice[];
    if (index < 2) {
      const gw = `gw-${index + 1}`;
      devices = [
        { deviceId: gw, capabilities: gatewayCapabilities(gw) },
        ...Array.from({ length: CELLS }, (_, n) => ({
          deviceId: `${gw}/cell-${n + 1}`,
          capabilities: host(`${gw}/cell-${n + 1}`, labels, { cpus: [{ cores: 2, architecture: 'amd64' }] }),
        })),
      ];
    } else if (index === 2) {
      devices = [{ deviceId: 'small-1', capabilities: host('small-1', labels, { memory: '512Mi' }) }];
    } else if (index === 3) {
      devices = [
        {
          deviceId: 'small-2',
          capabilities: host('small-2', labels, { supportedDeploymentTypes: ['compose'] }),
        },
      ];
    } else if (index < 6) {
      const id = `other-${index - 3}`;
      devices = [{ deviceId: id, capabilities: host(id, { line: `other-${run}`, site: 'plant-1' }) }];
    } else {
      const id = `edge-${index + 1}`;
      devices = [
        {
          deviceId: id,
          capabilities: host(id, labels, {
            cpus: [{ cores: [2, 4, 8][index % 3], architecture: index % 4 < 2 ? 'amd64' : 'arm64' }],
            memory: ['2Gi', '4Gi', '8Gi', '16Gi'][index % 4],
            supportedDeploymentTypes: index % 5 === 0 ? ['helm'] : ['compose', 'helm'],
          }),
        },
      ];
    }
    return { index, name, profile, api, devices };
  });
}

/** Placed, in its manifest, reported installed, and the WFM derives in-sync (installed for its current digest). */
function inSync(t: Target): boolean {
  return (
    t.placement === 'placed' &&
    t.inManifest &&
    t.derivedState === 'in-sync' &&
    t.status?.state === 'installed' &&
    typeof t.status.adoptedManifestVersion === 'string'
  );
}

/**
 * In sync, and the installed report is for the manifest version that last listed the target. (A later
 * manifest of the same client that changes only another device's deployment lists this one unchanged:
 * then the target stays in-sync without a new report, so this holds only right after its own change.)
 */
function installedForLatest(t: Target): boolean {
  return (
    inSync(t) &&
    t.manifestVersion !== null &&
    BigInt(t.status!.adoptedManifestVersion!) >= BigInt(t.manifestVersion)
  );
}

function describeTargets(targets: Target[]): string {
  return (
    targets
      .map(
        (t) =>
          `${t.clientId}/${t.deviceId}=${t.placement}` +
          `${t.inManifest ? '' : '(not in manifest)'}:${t.derivedState ?? '-'}:${t.status?.state ?? '-'}` +
          `@${t.status?.adoptedManifestVersion ?? '-'}/${t.manifestVersion ?? '-'}`,
      )
      .join(', ') || 'none'
  );
}

describe('end to end: 2 API processes + 1 worker process, 24 simulated agents in both profiles', () => {
  const fileStarted = Date.now();
  const phases: string[] = [];
  const agentEvents: AgentEvent[] = [];
  let cluster: WfmCluster;
  let agents: RunningAgent[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      apis: 2,
      env: {
        WFM_ONBOARDING_MODE: 'approval',
        WFM_RECOMPUTE_DEBOUNCE_MS: '100',
        WFM_RATE_LIMIT_PER_MINUTE: '0',
        WFM_DB_POOL_SIZE: '5',
        WFM_ROLLOUT_TICK_MS: '250',
      },
    });
    phases.push(`processes up ${((Date.now() - fileStarted) / 1000).toFixed(1)} s`);
  }, 40_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.agent.stop()));
    for (const a of agents) a.client.close();
    await cluster?.stop();
    const seconds = (Date.now() - fileStarted) / 1000;
    console.log(`e2e-fleet: ${phases.join(' · ')} · file total ${seconds.toFixed(1)} s`);
  }, 30_000);

  it(
    'publishes, deploys, rolls a change, moves devices out of and back into placement, deletes',
    async () => {
      const [apiA, apiB] = cluster.access;
      const run = randomBytes(3).toString('hex');
      const line = `paint-${run}`;
      const planned = plan(run, line);
      const phaseStart = { at: Date.now() };
      const phase = (name: string) => {
        phases.push(`${name} ${((Date.now() - phaseStart.at) / 1000).toFixed(1)} s`);
        phaseStart.at = Date.now();
      };

      /** Polls `probe` every 250 ms until it returns a value; fails with what it last saw. */
      async function waitFor<T>(
        what: string,
        probe: () => Promise<T | undefined>,
        lastSeen: () => string,
      ): Promise<T> {
        const end = Date.now() + STEP_TIMEOUT_MS;
        for (;;) {
          const value = await probe();
          if (value !== undefined) return value;
          if (Date.now() > end) {
            const errors = agentEvents.filter((e) => e.kind === 'error' || e.kind === 'security');
            throw new Error(
              `timed out waiting for: ${what}\nlast seen: ${lastSeen()}\n` +
                `agent errors: ${errors.map((e) => `${e.agent}: ${e.message}`).join('; ') || 'none'}\n` +
                cluster.logs(15),
            );
          }
          await sleep(250);
        }
      }
      const ok = async (res: Promise<RawResponse>, status: number, what: string): Promise<RawResponse> => {
        const r = await res;
        expect(r.status, `${what}: ${r.text().slice(0, 500)}`).toBe(status);
        return r;
      };

      // 1. enroll every agent through its API instance (rc.3: SVID + accept; legacy: onboard + approve),
      //    then start them all: capabilities (gateways before their cells), then a poll every ~500 ms
      const queue = [...planned];
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
            const access = cluster.access[p.api];
            const client =
              p.profile === 'rc3' ? await enrollRc3(access, p.name) : await enrollLegacy(access, p.name);
            const clientId = 'clientId' in client ? client.clientId : p.name;
            const agent = new SimulatedAgent({
              name: clientId,
              client,
              devices: p.devices,
              pollIntervalMs: POLL_MS,
              installDelayMs: 100,
              maxBackoffMs: 2_000,
              onEvent: (e) => agentEvents.push(e),
            });
            agents.push({ ...p, clientId, agent, client });
          }
        }),
      );
      phase('enrolled');
      agents = agents.sort((a, b) => a.index - b.index);
      expect(agents).toHaveLength(AGENTS);
      for (const a of agents) a.agent.start();
      const byClient = new Map(agents.map((a) => [a.clientId, a]));
      /** What the agents hold: every installed deployment, keyed client|device. */
      const held = () =>
        agents.flatMap((a) => [...a.agent.deployments.values()].map((d) => ({ ...d, clientId: a.clientId })));

      const allDevices = agents.flatMap((a) => a.devices.map((d) => key(a.clientId, d.deviceId))).sort();
      await waitFor(
        `every agent reported its capabilities and polled, and the operator API lists all ${allDevices.length} devices`,
        async () => {
          if (!agents.every((a) => a.agent.counters.polls > 0)) return undefined;
          const res = await operatorCall(apiB, 'GET', '/devices?limit=100');
          const items = res.json<{ items: unknown[] }>().items;
          return items.length === allDevices.length ? items : undefined;
        },
        () => `${agents.filter((a) => a.agent.counters.polls > 0).length} agents polled`,
      );
      const devices = (await operatorCall(apiA, 'GET', '/devices?limit=100')).json<{
        items: { clientId: string; deviceId: string; clientProfile: string; parentDeviceId: string | null }[];
      }>().items;
      expect(devices.map((d) => key(d.clientId, d.deviceId)).sort()).toEqual(allDevices);
      for (const d of devices) {
        expect(d.clientProfile).toBe(byClient.get(d.clientId)!.profile);
        expect(d.parentDeviceId).toBe(d.deviceId.includes('/') ? d.deviceId.split('/')[0] : null);
      }
      for (const profile of ['rc3', 'legacy']) {
        const page = await ok(
          operatorCall(apiA, 'GET', `/clients?profile=${profile}&state=active&limit=1000`),
          200,
          'clients',
        );
        const clients = page.json<{ items: unknown[]; next: string | null }>();
        expect(clients.items, `active ${profile} clients`).toHaveLength(AGENTS / 2);
        expect(clients.next).toBeNull();
      }
      phase('capabilities listed');

      // 2. publish the example package (through API B)
      await ok(
        operatorCall(
          apiB,
          'POST',
          '/applications',
          await readExample('line-monitor/margo.yaml'),
          'application/yaml',
        ),
        201,
        'publish line-monitor',
      );

      // 3. deploy it to the line's label selector (through API A)
      const created = await ok(
        operatorCall(apiA, 'POST', '/deployments', {
          applicationId: APPLICATION_ID,
          version: '2.1.0',
          parameters: { lineName: 'Paint line', siteId: 'DE-042', sampleRate: 10 },
          target: { selector: { matchLabels: { line } } },
          onCapabilityLoss: 'remove',
        }),
        201,
        'create deployment',
      );
      const deploymentId = created.json<{ id: string }>().id;
      let last: Target[] = [];
      const targets = async (api: WfmAccess): Promise<Target[]> => {
        const res = await ok(operatorCall(api, 'GET', `/deployments/${deploymentId}`), 200, 'GET deployment');
        last = res.json<{ targets: Target[] }>().targets;
        return last;
      };
      const placedOf = (ts: Target[]) => ts.filter((t) => t.placement === 'placed');
      const placedKeys = agents
        .flatMap((a) => a.devices.map((d) => ({ a, d })))
        .filter(({ a, d }) => (a.index < 2 && d.deviceId.includes('/')) || a.index >= 6)
        .map(({ a, d }) => key(a.clientId, d.deviceId))
        .sort();
      expect(placedKeys).toHaveLength(PLACED);
      const small1 = key(agents[2].clientId, 'small-1');
      const small2 = key(agents[3].clientId, 'small-2');

      /** The agents' own view agrees with the operator's: each placed target installed with its digest. */
      const checkAgentsHold = (ts: Target[]) => {
        for (const t of placedOf(ts)) {
          const d = byClient.get(t.clientId)!.agent.deployments.get(t.deploymentId);
          expect(d?.state, `${t.clientId}/${t.deviceId}`).toBe('installed');
          expect(d?.digest, `${t.clientId}/${t.deviceId}`).toBe(t.digest);
          expect(d?.deviceId).toBe(t.deviceId);
        }
        expect(held()).toHaveLength(placedOf(ts).length);
      };

      // 4. placement, the devices that do not fit and why, and every placed device installing it
      const installed = await waitFor(
        `line-monitor placed on the ${PLACED} fitting devices and installed there (in-sync)`,
        async () => {
          const done = held().filter((d) => d.state === 'installed');
          if (done.length < PLACED) return undefined;
          const ts = await targets(apiB);
          // in-sync (installed at or after the version that brought its digest), not installedForLatest:
          // recompute-device jobs of the agents' first reports may still be queued when the deployment
          // is created, and then place a gateway's cells one manifest version each; a cell placed in the
          // first of those is listed unchanged by the later ones and is not reported again
          return placedOf(ts).length === PLACED && placedOf(ts).every(inSync) ? ts : undefined;
        },
        () => `${held().length} held by agents; ${describeTargets(last)}`,
      );
      // the selector matched exactly the line's devices: no target on the gateways or the other line
      expect(installed.map((t) => key(t.clientId, t.deviceId)).sort()).toEqual(
        [...placedKeys, small1, small2].sort(),
      );
      expect(
        placedOf(installed)
          .map((t) => key(t.clientId, t.deviceId))
          .sort(),
      ).toEqual(placedKeys);
      const refusal = (k: string) => installed.find((t) => key(t.clientId, t.deviceId) === k)!;
      expect(refusal(small1).placement).toBe('not-placeable');
      expect(refusal(small1).inManifest).toBe(false);
      expect(refusal(small1).reasons.join('; ')).toMatch(/memory.*512Mi/);
      expect(refusal(small2).placement).toBe('not-placeable');
      expect(refusal(small2).inManifest).toBe(false);
      expect(refusal(small2).reasons.join('; ')).toMatch(/helm/);
      checkAgentsHold(installed);
      phase('deployed+installed');

      // 5. a parameter change (through API B) rolls out in waves, a diverse canary first (issue 16):
      //    new digest, newer manifest, installed again, on every device of both profiles
      const before = new Map(placedOf(installed).map((t) => [t.deploymentId, t]));
      let lastRollout = '';
      const patched = await ok(
        operatorCall(apiB, 'PATCH', `/deployments/${deploymentId}`, {
          parameters: { lineName: 'Paint line', siteId: 'DE-042', sampleRate: 25 },
          rollout: { waves: [{ canary: 'diverse', count: 3 }], waveTimeout: null },
        }),
        200,
        'PATCH deployment',
      );
      expect(patched.json<{ revision: number }>().revision).toBeGreaterThan(
        created.json<{ revision: number }>().revision,
      );
      const rolled = await waitFor(
        'every device got a new digest in a newer manifest with sampleRate 25 and installed it',
        async () => {
          const fresh = held().filter(
            (d) => d.state === 'installed' && d.digest !== before.get(d.deploymentId)?.digest,
          );
          if (fresh.length < PLACED) return undefined;
          const ts = await targets(apiA);
          lastRollout = (await operatorCall(apiA, 'GET', `/deployments/${deploymentId}/rollout`)).text();
          const done = placedOf(ts).every((t) => {
            const old = before.get(t.deploymentId);
            return (
              old !== undefined &&
              t.digest !== old.digest &&
              BigInt(t.manifestVersion ?? '0') > BigInt(old.manifestVersion ?? '0') &&
              t.parameters.find((p) => p.name === 'sampleRate')?.value === 25 &&
              // in waves, a client's devices change in different manifests: each is in sync with the
              // manifest its new digest came in (a later one need not be adopted for it)
              inSync(t)
            );
          });
          return placedOf(ts).length === PLACED && done ? ts : undefined;
        },
        () => `${describeTargets(placedOf(last))}\nrollout: ${lastRollout.slice(0, 4000)}`,
      );
      checkAgentsHold(rolled);
      const rollout = await waitFor(
        'the staged rollout completed wave by wave',
        async () => {
          const view = (await operatorCall(apiA, 'GET', `/deployments/${deploymentId}/rollout`)).json<{
            rollout: {
              state: string;
              waves: {
                size: number;
                outcome: string | null;
                members: { clientId: string; deviceId: string }[];
              }[];
              canary: { covered: { deviceClass: string }[] } | null;
            } | null;
          }>();
          return view.rollout?.state === 'completed' ? view.rollout : undefined;
        },
        () => 'the rollout did not complete',
      );
      expect(rollout.waves.every((w) => w.outcome === 'success')).toBe(true);
      expect(rollout.waves[0].size).toBe(3);
      expect(rollout.canary!.covered.map((c) => c.deviceClass).some((c) => c.endsWith('gateway child'))).toBe(
        true,
      );
      const waved = rollout.waves.flatMap((w) => w.members.map((m) => key(m.clientId, m.deviceId)));
      // every matching device is in one wave; the two that do not fit count for no wave's gate
      expect(waved.sort()).toEqual([...placedKeys, small1, small2].sort());
      phase('parameter change (staged rollout)');

      // 6. capability loss: an rc.3 host (API B) loses memory, a legacy gateway's cell (API A) loses cores
      const hostAgent = agents[6];
      const cellAgent = agents[1];
      expect([hostAgent.profile, hostAgent.api, cellAgent.profile, cellAgent.api]).toEqual([
        'rc3',
        1,
        'legacy',
        0,
      ]);
      const shrunk = [
        {
          agent: hostAgent,
          deviceId: 'edge-7',
          original: structuredClone(hostAgent.devices[0].capabilities),
          smaller: host('edge-7', { line, site: 'plant-1' }, { memory: '512Mi' }),
          reason: /memory/,
        },
        {
          agent: cellAgent,
          deviceId: 'gw-2/cell-1',
          original: structuredClone(cellAgent.devices[1].capabilities),
          smaller: host(
            'gw-2/cell-1',
            { line, site: 'plant-1' },
            { cpus: [{ cores: 1, architecture: 'amd64' }] },
          ),
          reason: /core/,
        },
      ];
      const isShrunk = (t: Target) =>
        shrunk.some((s) => key(s.agent.clientId, s.deviceId) === key(t.clientId, t.deviceId));
      const targetOf = (ts: Target[], s: (typeof shrunk)[number]) =>
        ts.find((t) => key(t.clientId, t.deviceId) === key(s.agent.clientId, s.deviceId))!;
      const appDeploymentIds = shrunk.map((s) => targetOf(rolled, s).deploymentId);
      for (const s of shrunk) await s.agent.agent.updateCapabilities(s.deviceId, s.smaller);
      const out = await waitFor(
        'the two shrunk devices not placeable, out of their manifests and reported removed; the rest in-sync',
        async () => {
          if (appDeploymentIds.some((id) => held().some((d) => d.deploymentId === id))) return undefined;
          const ts = await targets(apiB);
          const gone = shrunk.every((s) => {
            const t = targetOf(ts, s);
            return t.placement === 'not-placeable' && !t.inManifest && t.status?.state === 'removed';
          });
          const others = placedOf(ts).filter((t) => !isShrunk(t));
          return gone && others.length === PLACED - 2 && others.every(inSync) ? ts : undefined;
        },
        () => describeTargets(last.filter((t) => isShrunk(t) || (t.placement === 'placed' && !inSync(t)))),
      );
      for (const [i, s] of shrunk.entries()) {
        const t = targetOf(out, s);
        expect(t.reasons.join('; '), s.deviceId).toMatch(s.reason);
        expect(t.deploymentId).toBe(appDeploymentIds[i]);
      }
      // the gateway's other cells keep their copies
      expect(cellAgent.agent.deployments.size).toBe(CELLS - 1);
      checkAgentsHold(out);
      phase('capability loss');

      // 7. capabilities restored: placed again, back in the manifests, installed again
      for (const s of shrunk) await s.agent.agent.updateCapabilities(s.deviceId, s.original);
      const back = await waitFor(
        `the two devices placed again and installed (all ${PLACED} in-sync)`,
        async () => {
          if (held().filter((d) => d.state === 'installed').length < PLACED) return undefined;
          const ts = await targets(apiA);
          const restored = shrunk.every((s) => installedForLatest(targetOf(ts, s)));
          return restored && placedOf(ts).length === PLACED && placedOf(ts).every(inSync) ? ts : undefined;
        },
        () => describeTargets(last.filter((t) => isShrunk(t) || (t.placement === 'placed' && !inSync(t)))),
      );
      checkAgentsHold(back);
      for (const s of shrunk) {
        expect(targetOf(back, s).reasons).toEqual([]);
        const history = (
          await ok(
            operatorCall(
              apiA,
              'GET',
              `/deployments/${deploymentId}/status-history?deviceId=${encodeURIComponent(s.deviceId)}`,
            ),
            200,
            'status history',
          )
        ).json<{ items: { state: string; clientId: string; applied: boolean }[] }>().items;
        expect(history.every((h) => h.clientId === s.agent.clientId)).toBe(true);
        // oldest first: installed (roll-out, parameter change), then removed, then installed again
        const applied = history
          .filter((h) => h.applied)
          .map((h) => h.state)
          .reverse();
        const removedAt = applied.indexOf('removed');
        expect(removedAt, applied.join(',')).toBeGreaterThan(applied.indexOf('installed'));
        expect(applied.indexOf('installed'), applied.join(',')).toBeGreaterThanOrEqual(0);
        expect(applied.at(-1), applied.join(',')).toBe('installed');
      }
      const summary = (await ok(operatorCall(apiB, 'GET', '/status/summary'), 200, 'summary')).json<{
        byDeployment: Record<string, Record<string, number>>;
        byApplication: Record<string, Record<string, number>>;
      }>();
      expect(summary.byDeployment[deploymentId]).toEqual({ 'in-sync': PLACED, 'not-placeable': 2 });
      expect(summary.byApplication[APPLICATION_ID]).toEqual({ 'in-sync': PLACED, 'not-placeable': 2 });
      phase('capability restore');

      // 8. deletion (through API B): every agent removes it
      const deletedAt = new Date();
      await ok(operatorCall(apiB, 'DELETE', `/deployments/${deploymentId}`), 202, 'DELETE deployment');
      await waitFor(
        'every agent removed line-monitor',
        () => Promise.resolve(held().length === 0 ? true : undefined),
        () =>
          held()
            .map((d) => `${d.clientId}/${d.deviceId} ${d.state}`)
            .join(', '),
      );
      phase('deletion');

      // the final state, through the operator API of both instances
      for (const api of [apiA, apiB]) {
        await ok(operatorCall(api, 'GET', `/deployments/${deploymentId}`), 404, 'GET deleted deployment');
        const list = await ok(operatorCall(api, 'GET', '/deployments'), 200, 'list deployments');
        expect(list.json()).toEqual({ items: [], next: null });
      }
      const finalSummary = (await ok(operatorCall(apiA, 'GET', '/status/summary'), 200, 'summary')).json<{
        overall: Record<string, number>;
        byDeployment: Record<string, unknown>;
      }>();
      expect(finalSummary.overall).toEqual({});
      expect(finalSummary.byDeployment).toEqual({});
      const empty = { items: [], next: null };
      expect((await ok(operatorCall(apiB, 'GET', '/status/orphans'), 200, 'orphans')).json()).toEqual(empty);
      expect((await ok(operatorCall(apiB, 'GET', '/status/failing'), 200, 'failing')).json()).toEqual(empty);
      // the event log: every device that held it reported "removed" after the deletion
      const removedAfterDelete = (
        events: { clientId?: string; at: string; data: Record<string, unknown> }[],
      ) =>
        new Set(
          events
            .filter((e) => e.data.state === 'removed' && new Date(e.at) >= deletedAt)
            .map((e) => key(e.clientId ?? '', String(e.data.deviceId))),
        );
      const events = await readEventLog(
        apiA,
        { type: 'status.changed', deploymentId },
        (es) => removedAfterDelete(es).size >= PLACED,
        5_000,
      );
      expect([...removedAfterDelete(events)].sort()).toEqual(placedKeys);

      // every agent's manifest, fetched now through its own API instance, lists nothing and is the one it adopted
      await Promise.all(agents.map((a) => a.agent.stop()));
      for (const a of agents) {
        const res = await ok(a.client.getManifest(), 200, `manifest of ${a.clientId}`);
        const manifest = res.json<{ manifestVersion: number; deployments: unknown[] }>();
        expect(manifest.deployments, a.clientId).toEqual([]);
        expect(manifest.manifestVersion, a.clientId).toBe(a.agent.manifestVersion);
      }

      // the agents saw no digest mismatch, no manifest going backwards, no failed install and no error
      const total = (k: keyof SimulatedAgent['counters']) =>
        agents.reduce((n, a) => n + a.agent.counters[k], 0);
      expect({
        errors: total('errors'),
        digestFailures: total('digestFailures'),
        securityEvents: total('securityEvents'),
        failures: total('failures'),
      }).toEqual({ errors: 0, digestFailures: 0, securityEvents: 0, failures: 0 });
      // installs: the roll-out, the parameter change, the two restored devices; removals: the two
      // shrunk devices, then every device at the deletion
      expect(total('installs')).toBe(2 * PLACED + 2);
      expect(total('removals')).toBe(2 + PLACED);
      phase('final checks');
      const elapsed = Date.now() - fileStarted;
      phases.push(`processes + test ${(elapsed / 1000).toFixed(1)} s`);
      expect(elapsed, 'the whole run (processes, enrollment, every step)').toBeLessThan(BUDGET_MS);
    },
    BUDGET_MS,
  );
});
