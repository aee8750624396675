import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rc3Client } from '../../src/client/margo-client.js';
import { enrollRc3, operatorCall } from '../../src/simulator/fleet.js';
import { startCluster, type WfmCluster } from '../support/cluster.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { type ServiceProcess, spawnService } from '../support/process.js';
import { capabilities, gateway } from '../support/capabilities.js';
import { bearer, rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

interface Manifest {
  manifestVersion: number;
  deployments: { deploymentId: string; digest: string }[];
}
interface Target {
  clientId: string;
  deviceId: string;
  deploymentId: string;
  placement: string;
  reasons: string[];
  digest: string | null;
  renderedRevision: number | null;
  derivedState?: string;
}
interface Wave {
  index: number;
  size: number;
  members: { clientId: string; deviceId: string }[];
  startedAt: string | null;
  finishedAt: string | null;
  outcome: string | null;
  counts: {
    placed: number;
    inSync: number;
    failed: number;
    inDowntime: number;
    byState: Record<string, number>;
  };
}
interface RolloutView {
  revision: number;
  stableRevision: number | null;
  rollout: {
    state: string;
    reason: string | null;
    currentWave: number;
    waveCount: number;
    fromRevision: number | null;
    toRevision: number;
    waves: Wave[];
    actions: { action: string; actor: string; wave: number | null; fromState: string; toState: string }[];
    canary: {
      classes: number;
      covered: { deviceClass: string; picked: number }[];
      uncovered: { deviceClass: string }[];
    } | null;
  } | null;
  previous: { state: string; reason: string | null }[];
  revisions: { revision: number; note: string | null; parameters: Record<string, unknown> }[];
}

/**
 * A management agent for every device of one client: polls the manifest and reports each
 * ApplicationDeployment whose digest it has not reported yet, `installed` or, for the devices in
 * `failing`, `failed`; the devices in `silent` never report.
 */
class Agent {
  readonly failing = new Set<string>();
  readonly silent = new Set<string>();
  private readonly reported = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly client: Rc3Client,
    private readonly deviceOf: (adId: string) => Promise<string | undefined>,
  ) {}

  start(): void {
    const loop = async () => {
      if (this.stopped) return;
      await this.once().catch(() => undefined);
      this.timer = setTimeout(() => void loop(), 150);
    };
    void loop();
  }

  async once(): Promise<void> {
    const res = await this.client.getManifest();
    if (res.status !== 200) return;
    const manifest = res.json<Manifest>();
    for (const d of manifest.deployments) {
      if (this.reported.get(d.deploymentId) === d.digest) continue;
      const device = await this.deviceOf(d.deploymentId);
      // a target the test has not looked at yet is a device that installs fine
      if (device && this.silent.has(device)) continue;
      const state = device && this.failing.has(device) ? 'failed' : 'installed';
      const report = await this.client.postStatus(d.deploymentId, {
        deploymentId: d.deploymentId,
        adoptedManifestVersion: manifest.manifestVersion,
        status: { state },
        components: [{ name: 'line-monitor-compose', state }],
      });
      if (report.status < 300) this.reported.set(d.deploymentId, d.digest);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

describe('staged rollouts', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let agent: Agent;
  const devices = new Map<string, string>(); // ApplicationDeployment id → deviceId
  const admin = () => ({ ...bearer(wfm.adminToken), 'content-type': 'application/json' });

  async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
    const end = Date.now() + ms;
    let last = await fn();
    while (!ok(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      last = await fn();
    }
    if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 1500)}`);
    return last;
  }
  const call = (path: string, method = 'GET', body?: unknown) =>
    wfm.call(path, { method, headers: admin(), body: body === undefined ? undefined : JSON.stringify(body) });
  const deploy = async (body: Record<string, unknown>) => {
    const res = await call('/operator/v1/deployments', 'POST', {
      applicationId: 'com-example-line-monitor',
      ...body,
    });
    expect(res.status, res.text()).toBe(201);
    return res.json<{ id: string }>().id;
  };
  const targetsOf = async (id: string) => {
    const targets = (await call(`/operator/v1/deployments/${id}`)).json<{ targets: Target[] }>().targets;
    for (const t of targets) devices.set(t.deploymentId, t.deviceId);
    return targets;
  };
  const byDevice = async (id: string) => new Map((await targetsOf(id)).map((t) => [t.deviceId, t]));
  const rollout = async (id: string) =>
    (await call(`/operator/v1/deployments/${id}/rollout`)).json<RolloutView>();
  const act = (id: string, action: string) =>
    call(`/operator/v1/deployments/${id}/rollout/${action}`, 'POST');
  const stateIs = (id: string, state: string, wave?: number) =>
    until(
      () => rollout(id),
      (v) => v.rollout?.state === state && (wave === undefined || v.rollout.currentWave === wave),
    );
  const allInSync = (id: string, count: number) =>
    until(
      () => targetsOf(id),
      (ts) =>
        ts.length === count && ts.every((t) => t.placement === 'placed' && t.derivedState === 'in-sync'),
    );
  const addDevices = async (group: string, ids: string[], overrides: Record<string, unknown> = {}) => {
    for (const id of ids) {
      const res = await device.putCapabilities(
        id,
        capabilities(id, { supportedDeploymentTypes: ['compose'], ...overrides }, { group }),
      );
      expect(res.status, res.text()).toBeLessThan(300);
    }
  };
  const yaml = async (t: Target) => (await device.getDeploymentYaml(t.deploymentId, t.digest!)).body;

  beforeAll(async () => {
    wfm = await startTestService({
      WFM_ONBOARDING_MODE: 'auto',
      WFM_RECOMPUTE_DEBOUNCE_MS: '50',
      WFM_ROLLOUT_TICK_MS: '200',
      WFM_RATE_LIMIT_PER_MINUTE: '0',
    });
    device = await rc3Client(wfm, 'line-r');
    const res = await wfm.call('/operator/v1/applications', {
      method: 'POST',
      headers: { ...bearer(wfm.adminToken), 'content-type': 'application/yaml' },
      body: linePackage(),
    });
    expect(res.status, res.text()).toBe(201);
    agent = new Agent(device, (adId) => Promise.resolve(devices.get(adId)));
    agent.start();
  });
  afterAll(async () => {
    agent?.stop();
    device?.close();
    await wfm?.stop();
  });

  it('refuses bad policies with pointers', async () => {
    await addDevices('bad', ['bad-1']);
    const res = await call('/operator/v1/deployments', 'POST', {
      applicationId: 'com-example-line-monitor',
      target: { selector: { matchLabels: { group: 'bad' } } },
      rollout: {
        waves: [{ count: 0 }, { percent: 'ten' }, { canary: 'diverse', count: 1 }],
        waveTimeout: '30 minutes',
      },
    });
    expect(res.status, res.text()).toBe(422);
    const fields = res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field);
    expect(fields.sort()).toEqual(
      [
        '/rollout/waves/0/count',
        '/rollout/waves/1/percent',
        '/rollout/waves/2/canary',
        '/rollout/waveTimeout',
      ].sort(),
    );
    const threshold = await call('/operator/v1/deployments', 'POST', {
      applicationId: 'com-example-line-monitor',
      target: { selector: { matchLabels: { group: 'bad' } } },
      rollout: { waves: [{ count: 1 }], successThreshold: 2, approval: 'maybe' },
    });
    expect(threshold.status).toBe(422);
    expect(threshold.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(
      expect.arrayContaining(['/rollout/successThreshold', '/rollout/approval']),
    );
    const unknown = await call('/operator/v1/deployments/00000000-0000-4000-8000-000000000000/rollout');
    expect(unknown.status).toBe(404);
  });

  it('rolls a change out wave by wave with approvals; targets not reached keep their bytes; late joiners get the last completed revision', async () => {
    const ids = ['wv-0', 'wv-1', 'wv-2', 'wv-3'];
    await addDevices('waves', ids);
    const id = await deploy({
      parameters: { greeting: 'Hi', siteId: 'DE-001' },
      target: { selector: { matchLabels: { group: 'waves' } } },
    });
    await allInSync(id, 4);
    const before = await byDevice(id);
    const bytes = new Map(await Promise.all(ids.map(async (d) => [d, await yaml(before.get(d)!)] as const)));
    expect((await rollout(id)).rollout).toBeNull();

    const patched = await call(`/operator/v1/deployments/${id}`, 'PATCH', {
      parameters: { greeting: 'Servus' },
      rollout: { waves: [{ count: 1 }, { percent: 50 }], approval: 'before-each-wave', waveTimeout: null },
    });
    expect(patched.status, patched.text()).toBe(200);
    // planned: waves shown before they start, nothing changed on any device
    let view = await stateIs(id, 'waiting-approval', 0);
    expect(view.rollout!.waves.map((w) => w.members.map((m) => m.deviceId))).toEqual([
      ['wv-0'],
      ['wv-1', 'wv-2'],
      ['wv-3'],
    ]);
    expect(view.rollout!.waves.every((w) => w.startedAt === null)).toBe(true);
    expect(view.rollout).toMatchObject({ fromRevision: 1, toRevision: 2 });
    const waiting = await byDevice(id);
    for (const d of ids) {
      expect(waiting.get(d)!.digest).toBe(before.get(d)!.digest);
      expect(waiting.get(d)!.renderedRevision).toBe(1);
    }
    // a change during the rollout is refused with the rollout's state
    const refused = await call(`/operator/v1/deployments/${id}`, 'PATCH', {
      parameters: { greeting: 'Moin' },
    });
    expect(refused.status, refused.text()).toBe(409);
    expect(refused.json()).toMatchObject({ rollout: { state: 'waiting-approval', currentWave: 0 } });

    expect((await act(id, 'approve')).status).toBe(200);
    view = await stateIs(id, 'waiting-approval', 1);
    let now = await byDevice(id);
    expect(view.rollout!.waves[0], JSON.stringify([view.rollout!.waves[0], now.get('wv-0')])).toMatchObject({
      outcome: 'success',
      counts: { placed: 1, inSync: 1 },
    });
    expect(now.get('wv-0')!.renderedRevision).toBe(2);
    expect(now.get('wv-0')!.digest).not.toBe(before.get('wv-0')!.digest);
    for (const d of ['wv-1', 'wv-2', 'wv-3']) {
      expect(now.get(d)!.digest).toBe(before.get(d)!.digest);
      expect(now.get(d)!.reasons.join(' ')).toMatch(
        /not reached yet by the rollout of revision 2: stays on revision 1/,
      );
      expect(Buffer.compare(await yaml(now.get(d)!), bytes.get(d)!)).toBe(0);
    }

    // a device that starts matching during the rollout gets revision 1, the last completed one
    await addDevices('waves', ['wv-late']);
    const late = await until(
      () => byDevice(id),
      (m) => m.get('wv-late')?.placement === 'placed',
    );
    expect(late.get('wv-late')).toMatchObject({ renderedRevision: 1 });
    expect(late.get('wv-late')!.reasons.join(' ')).toMatch(
      /joined during the rollout of revision 2: gets revision 1/,
    );

    expect((await act(id, 'approve')).status).toBe(200);
    await stateIs(id, 'waiting-approval', 2);
    expect((await act(id, 'approve')).status).toBe(200);
    view = await stateIs(id, 'completed');
    expect(view.stableRevision).toBe(2);
    expect(
      view.rollout!.actions.filter((a) => a.action === 'approve').map((a) => [a.wave, a.actor, a.toState]),
    ).toEqual([
      [0, 'bootstrap-admin', 'progressing'],
      [1, 'bootstrap-admin', 'progressing'],
      [2, 'bootstrap-admin', 'progressing'],
    ]);
    expect(view.revisions.map((r) => r.revision)).toEqual([1, 2]);
    // after completion every target, the late joiner too, is on revision 2
    now = await until(
      () => byDevice(id),
      (m) => [...m.values()].every((t) => t.renderedRevision === 2 && t.derivedState === 'in-sync'),
    );
    expect(now.size).toBe(5);
    const metrics = (await wfm.call('/metrics')).text();
    expect(metrics).toMatch(new RegExp(`wfm_rollout_state\\{deployment_id="${id}",state="completed"\\} 1`));
  });

  it('pauses by itself on the failure threshold, refuses changes, and rolls back to byte-identical manifests', async () => {
    const ids = ['fl-0', 'fl-1', 'fl-2'];
    await addDevices('fail', ids);
    const id = await deploy({
      parameters: { siteId: 'DE-002' },
      target: { selector: { matchLabels: { group: 'fail' } } },
    });
    await allInSync(id, 3);
    const before = await byDevice(id);
    const bytes = new Map(await Promise.all(ids.map(async (d) => [d, await yaml(before.get(d)!)] as const)));
    const manifestBefore = (await device.getManifest()).json<Manifest>();
    agent.failing.add('fl-1');

    const patched = await call(`/operator/v1/deployments/${id}`, 'PATCH', {
      parameters: { sampleRate: 99 },
      rollout: { waves: [{ count: 2 }], failureThreshold: 0.4 },
    });
    expect(patched.status, patched.text()).toBe(200);
    const view = await stateIs(id, 'paused');
    expect(view.rollout).toMatchObject({ reason: 'threshold', currentWave: 0 });
    expect(view.rollout!.waves[0].counts).toMatchObject({ placed: 2, failed: 1 });
    expect((await byDevice(id)).get('fl-2')!.digest).toBe(before.get('fl-2')!.digest);
    const refused = await call(`/operator/v1/deployments/${id}`, 'PATCH', { parameters: { sampleRate: 5 } });
    expect(refused.status).toBe(409);
    expect(refused.json()).toMatchObject({ rollout: { state: 'paused', reason: 'threshold' } });

    const back = await act(id, 'rollback');
    expect(back.status, back.text()).toBe(200);
    expect(back.json<RolloutView>()).toMatchObject({
      revision: 3,
      stableRevision: 3,
      rollout: { state: 'rolled-back' },
    });
    expect(back.json<RolloutView>().revisions.at(-1)).toMatchObject({
      revision: 3,
      note: 'rollback of revision 2 to revision 1',
      parameters: { siteId: 'DE-002' },
    });
    agent.failing.delete('fl-1');
    const after = await until(
      () => byDevice(id),
      (m) => ids.every((d) => m.get(d)!.renderedRevision === 3 && m.get(d)!.digest === before.get(d)!.digest),
    );
    for (const d of ids) expect(Buffer.compare(await yaml(after.get(d)!), bytes.get(d)!)).toBe(0);
    // the manifest lists the same digests as before the change (the poll cache follows the commit)
    const digestsOf = (m: Manifest) =>
      m.deployments
        .filter((d) => ids.includes(devices.get(d.deploymentId) ?? ''))
        .map((d) => d.digest)
        .sort();
    const manifest = await until(
      async () => (await device.getManifest()).json<Manifest>(),
      (m) => JSON.stringify(digestsOf(m)) === JSON.stringify(digestsOf(manifestBefore)),
    );
    expect(digestsOf(manifest)).toEqual(digestsOf(manifestBefore));
    expect((await act(id, 'rollback')).status).toBe(409);
  });

  it('pauses on the wave timeout; resume restarts the clock; abort ends it and changes are accepted again', async () => {
    await addDevices('slow', ['sl-0', 'sl-1']);
    const id = await deploy({
      parameters: { siteId: 'DE-003' },
      target: { selector: { matchLabels: { group: 'slow' } } },
    });
    await allInSync(id, 2);
    agent.silent.add('sl-0');
    expect(
      (
        await call(`/operator/v1/deployments/${id}`, 'PATCH', {
          parameters: { greeting: 'Tach' },
          rollout: { waves: [{ count: 1 }], waveTimeout: '1s' },
        })
      ).status,
    ).toBe(200);
    let view = await stateIs(id, 'paused');
    expect(view.rollout!.reason).toBe('timeout');
    expect((await act(id, 'resume')).json<RolloutView>().rollout!.state).toBe('progressing');
    view = await stateIs(id, 'paused');
    expect(view.rollout!.reason).toBe('timeout');
    expect((await act(id, 'pause')).status).toBe(409);
    expect((await act(id, 'abort')).json<RolloutView>().rollout).toMatchObject({
      state: 'aborted',
      reason: 'operator',
    });
    // aborted: the reached device keeps revision 2, the other revision 1
    const targets = await byDevice(id);
    expect(targets.get('sl-0')!.renderedRevision).toBe(2);
    expect(targets.get('sl-1')!.renderedRevision).toBe(1);
    agent.silent.delete('sl-0');
    // without a policy now: the next change reaches both at once
    const next = await call(`/operator/v1/deployments/${id}`, 'PATCH', {
      parameters: { greeting: 'Hallo' },
      rollout: null,
    });
    expect(next.status, next.text()).toBe(200);
    await until(
      () => byDevice(id),
      (m) => [...m.values()].every((t) => t.renderedRevision === 3 && t.derivedState === 'in-sync'),
    );
    view = await rollout(id);
    expect(view.rollout!.state).toBe('aborted');
    expect(view.rollout!.actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(['wave-started', 'paused', 'resume', 'abort']),
    );
  });

  it('a first rollout with a diverse canary covers each device class; the rest waits; supersede replaces a rollout', async () => {
    await addDevices('canary', ['cn-a0', 'cn-a1', 'cn-a2'], { cpus: [{ cores: 4, architecture: 'arm64' }] });
    await addDevices('canary', ['cn-b0', 'cn-b1'], {
      cpus: [{ cores: 4, architecture: 'amd64' }],
      modelNumber: 'EDGE-8',
    });
    expect((await device.putCapabilities('cn-gw', gateway('cn-gw'))).status).toBe(201);
    await addDevices('canary', ['cn-gw/plc-1']);
    const id = await deploy({
      parameters: { siteId: 'DE-004' },
      target: { selector: { matchLabels: { group: 'canary' } } },
      rollout: {
        waves: [{ canary: 'diverse', count: 2 }, { percent: 50 }],
        approval: 'before-each-wave',
        waveTimeout: null,
      },
    });
    let view = await stateIs(id, 'waiting-approval', 0);
    expect(view.rollout!.fromRevision).toBeNull();
    expect(view.rollout!.canary!.classes).toBe(3);
    expect(view.rollout!.canary!.covered.map((c) => c.deviceClass)).toEqual([
      'arm64 · Acme Industrial EDGE-4 · oci · compose',
      'amd64 · Acme Industrial EDGE-8 · oci · compose',
    ]);
    expect(view.rollout!.canary!.uncovered.map((c) => c.deviceClass)).toEqual([
      'arm64 · Acme Industrial EDGE-4 · oci · compose · gateway child',
    ]);
    expect(view.rollout!.waves[0].members.map((m) => m.deviceId)).toEqual(['cn-a0', 'cn-b0']);
    // nothing is placed before the first wave starts
    let targets = await until(
      () => targetsOf(id),
      (ts) => ts.length === 6,
    );
    expect(targets.every((t) => t.placement === 'waiting-rollout' && t.digest === null)).toBe(true);
    expect((await act(id, 'approve')).status).toBe(200);
    await stateIs(id, 'waiting-approval', 1);
    targets = await targetsOf(id);
    expect(
      targets
        .filter((t) => t.placement === 'placed')
        .map((t) => t.deviceId)
        .sort(),
    ).toEqual(['cn-a0', 'cn-b0']);
    // a superseding change: the first rollout is aborted, the new one starts from nothing completed
    const superseding = await call(`/operator/v1/deployments/${id}?supersede=true`, 'PATCH', {
      parameters: { greeting: 'Ahoi' },
      rollout: { waves: [{ percent: 100 }] },
    });
    expect(superseding.status, superseding.text()).toBe(200);
    view = await stateIs(id, 'completed');
    expect(view.previous[0]).toMatchObject({ state: 'aborted', reason: 'superseded' });
    await until(
      () => targetsOf(id),
      (ts) => ts.length === 6 && ts.every((t) => t.placement === 'placed' && t.renderedRevision === 2),
    );
  });

  it('rolls back as a rollout of its own (?staged=true) with the same policy, ending on the old bytes', async () => {
    const ids = ['sr-0', 'sr-1', 'sr-2'];
    await addDevices('staged-back', ids);
    const id = await deploy({
      parameters: { siteId: 'DE-006' },
      target: { selector: { matchLabels: { group: 'staged-back' } } },
    });
    await allInSync(id, 3);
    const before = await byDevice(id);
    const patched = await call(`/operator/v1/deployments/${id}`, 'PATCH', {
      parameters: { greeting: 'Servus' },
      rollout: { waves: [{ count: 1 }, { count: 1 }] },
    });
    expect(patched.status, patched.text()).toBe(200);
    await stateIs(id, 'completed');
    expect((await act(id, 'pause?staged=true')).status).toBe(400);
    const back = await act(id, 'rollback?staged=true');
    expect(back.status, back.text()).toBe(200);
    const view = await stateIs(id, 'completed');
    expect(view.previous[0]).toMatchObject({ state: 'rolled-back' });
    expect(view.rollout).toMatchObject({ fromRevision: 2, toRevision: 3, waveCount: 3 });
    expect(view.revisions.at(-1)).toMatchObject({ note: 'staged rollback of revision 2 to revision 1' });
    await until(
      () => byDevice(id),
      (m) => ids.every((d) => m.get(d)!.renderedRevision === 3 && m.get(d)!.digest === before.get(d)!.digest),
    );
  });

  it('a device in a downtime window counts neither as failed nor as in-sync until the window ends', async () => {
    await addDevices('down', ['dn-0']);
    const id = await deploy({
      parameters: { siteId: 'DE-005' },
      target: { selector: { matchLabels: { group: 'down' } } },
    });
    await allInSync(id, 1);
    const window = {
      kind: 'once',
      from: new Date(Date.now() - 60_000).toISOString(),
      to: new Date(Date.now() + 3_600_000).toISOString(),
    };
    const put = await call('/operator/v1/clients/line-r/settings', 'PUT', { downtimeWindows: [window] });
    expect(put.status, put.text()).toBe(200);
    agent.failing.add('dn-0');
    try {
      await call(`/operator/v1/deployments/${id}`, 'PATCH', {
        parameters: { sampleRate: 7 },
        rollout: { waves: [{ count: 1 }], waveTimeout: '1s' },
      });
      const view = await until(
        () => rollout(id),
        (v) => v.rollout?.waves[0]?.counts.byState.failed === 1,
      );
      expect(view.rollout!.waves[0].counts).toMatchObject({ inDowntime: 1, failed: 0, inSync: 0 });
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await rollout(id)).rollout!.state).toBe('progressing'); // neither failed nor timed out
    } finally {
      await call('/operator/v1/clients/line-r/settings', 'PUT', { downtimeWindows: null });
    }
    const view = await stateIs(id, 'paused');
    expect(view.rollout!.reason).toBe('threshold');
    agent.failing.delete('dn-0');
  });
});

/**
 * Exactly once (issue 16, item 7): the service as separate processes — one API and two workers on
 * one database and queue prefix, ticking every 100 ms so that both take rollout ticks — and a worker
 * killed mid-wave. Every wave starts and succeeds exactly once (the history rows are written in the
 * transition's transaction, so a second application would show as a second row).
 */
describe('staged rollouts with two workers', () => {
  let cluster: WfmCluster;
  let second: ServiceProcess;
  let killed = false;
  let client: Rc3Client;
  let agent: Agent;
  const devices = new Map<string, string>();
  const env = {
    WFM_ROLLOUT_TICK_MS: '100',
    WFM_RECOMPUTE_DEBOUNCE_MS: '50',
    WFM_RECOMPUTE_SWEEP_SECONDS: '1',
    WFM_RATE_LIMIT_PER_MINUTE: '0',
  };

  beforeAll(async () => {
    cluster = await startCluster({ apis: 1, env });
    const access = cluster.access[0];
    second = await spawnService({
      ...env,
      DATABASE_URL: cluster.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      WFM_QUEUE_PREFIX: cluster.queuePrefix,
      WFM_DATA_DIR: cluster.dataDir,
      WFM_ADMIN_TOKEN: access.adminToken,
      WFM_HOST: '127.0.0.1',
      PORT: '0',
      WFM_MIGRATE_ON_START: 'false',
      WFM_ROLES: 'worker',
    });
    client = await enrollRc3(access, 'line-x');
    const pkg = await operatorCall(access, 'POST', '/applications', linePackage(), 'application/yaml');
    expect(pkg.status, pkg.text()).toBe(201);
    agent = new Agent(client, (adId) => Promise.resolve(devices.get(adId)));
    agent.start();
  }, 90_000);
  afterAll(async () => {
    agent?.stop();
    client?.close();
    if (!killed) await second?.stop();
    await cluster?.stop();
  });

  it('applies each wave transition once, and finishes after a worker is killed mid-wave', async () => {
    const access = cluster.access[0];
    const call = (method: string, path: string, body?: unknown) => operatorCall(access, method, path, body);
    async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
      const end = Date.now() + ms;
      let last = await fn();
      while (!ok(last) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
        last = await fn();
      }
      if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 3000)}`);
      return last;
    }
    const ids = Array.from({ length: 8 }, (_, i) => `x-${i}`);
    for (const id of ids) {
      const res = await client.putCapabilities(
        id,
        capabilities(id, { supportedDeploymentTypes: ['compose'] }, { group: 'x' }),
      );
      expect(res.status).toBe(201);
    }
    const created = await call('POST', '/deployments', {
      applicationId: 'com-example-line-monitor',
      parameters: { siteId: 'DE-009' },
      target: { selector: { matchLabels: { group: 'x' } } },
    });
    expect(created.status, created.text()).toBe(201);
    const id = created.json<{ id: string }>().id;
    const targets = () =>
      call('GET', `/deployments/${id}`).then((r) => {
        const ts = r.json<{ targets: Target[] }>().targets;
        for (const t of ts) devices.set(t.deploymentId, t.deviceId);
        return ts;
      });
    await until(targets, (ts) => ts.length === 8 && ts.every((t) => t.derivedState === 'in-sync'));
    agent.silent.add('x-2'); // holds the second wave until the worker is killed
    const patched = await call('PATCH', `/deployments/${id}`, {
      parameters: { greeting: 'Grüezi' },
      rollout: { waves: [{ count: 2 }, { count: 2 }, { count: 2 }], waveTimeout: null },
    });
    expect(patched.status, patched.text()).toBe(200);
    const view = () => call('GET', `/deployments/${id}/rollout`).then((r) => r.json<RolloutView>());
    await until(view, (v) => v.rollout?.currentWave === 1 && v.rollout.state === 'progressing');
    const exited = new Promise((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGKILL');
    await exited;
    killed = true;
    agent.silent.delete('x-2');
    // a job the killed worker held is taken over when BullMQ finds it stalled (30 s lock, checked
    // every 30 s): up to a minute, more on a loaded machine
    const done = await until(view, (v) => v.rollout?.state === 'completed', 150_000);
    const started = done.rollout!.actions.filter((a) => a.action === 'wave-started').map((a) => a.wave);
    const succeeded = done.rollout!.actions.filter((a) => a.action === 'wave-succeeded').map((a) => a.wave);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(succeeded).toEqual([0, 1, 2, 3]);
    expect(done.rollout!.actions.filter((a) => a.action === 'completed')).toHaveLength(1);
    await until(targets, (ts) => ts.every((t) => t.renderedRevision === 2 && t.derivedState === 'in-sync'));
  }, 260_000);
});
