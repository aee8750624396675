import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedAgent, type SimulatedDevice } from './agent.js';
import {
  enrollRc3,
  gatewayCapabilities,
  operatorCall,
  retireClient,
  simulatedCapabilities,
  type WfmAccess,
} from './fleet.js';

/**
 * The one-minute demo: a few simulated rc.3 devices on a paint line, the line-monitor example package
 * deployed to them by label, and every step checked against the operator API (placements, the device
 * that does not fit and why, statuses reaching in-sync, a parameter change rolling through).
 */

export interface DemoOptions extends WfmAccess {
  log: (line: string) => void;
  /** Bound of each waiting step (default 30 s). */
  stepTimeoutMs?: number;
}

export interface DemoResult {
  success: boolean;
  /** What did not happen, in words. */
  failures: string[];
  seconds: number;
}

const APPLICATION_ID = 'com-example-line-monitor';

interface Target {
  clientId: string;
  deviceId: string;
  deploymentId: string;
  placement: string;
  reasons: string[];
  digest: string | null;
  manifestVersion: string | null;
  derivedState?: string;
  status?: { state?: string; adoptedManifestVersion?: string | null } | null;
}

interface DemoDevice {
  clientId: string;
  devices: SimulatedDevice[];
}

/** A failed check: what the demo expected, in words. */
class DemoStepError extends Error {}

/** Finds `examples/` by walking up from this module (works from src/ and from dist/src/). */
export async function readExample(relative: string): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'examples', relative);
    if (existsSync(candidate)) return readFile(candidate, 'utf8');
    dir = dirname(dir);
  }
  throw new Error(`examples/${relative} not found`);
}

/** Polls `probe` every 250 ms until it returns a value, or fails with `expectation` after `timeoutMs`. */
async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  expectation: () => string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new DemoStepError(`${expectation()} (waited ${timeoutMs / 1000} s)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The plant: three presses and a gateway with two cells on the paint line, and one press too small. */
function plant(run: string, line: string): DemoDevice[] {
  const labels = { line, site: 'plant-1' };
  const host = (id: string, overrides: Record<string, unknown> = {}) =>
    simulatedCapabilities(id, Math.random, labels, {
      cpus: [{ cores: 4, architecture: 'arm64' }],
      memory: '4Gi',
      storage: '64Gi',
      supportedDeploymentTypes: ['helm', 'compose'],
      ...overrides,
    });
  const presses = [1, 2, 3].map((n) => ({
    clientId: `demo-${run}-press-${n}`,
    devices: [{ deviceId: `press-${n}`, capabilities: host(`press-${n}`) }],
  }));
  const gateway = {
    clientId: `demo-${run}-gateway`,
    devices: [
      { deviceId: 'gw-1', capabilities: gatewayCapabilities('gw-1') },
      {
        deviceId: 'gw-1/cell-1',
        capabilities: host('gw-1/cell-1', { cpus: [{ cores: 2, architecture: 'amd64' }] }),
      },
      {
        deviceId: 'gw-1/cell-2',
        capabilities: host('gw-1/cell-2', { cpus: [{ cores: 2, architecture: 'amd64' }] }),
      },
    ],
  };
  const small = {
    clientId: `demo-${run}-press-small`,
    devices: [{ deviceId: 'press-small', capabilities: host('press-small', { memory: '512Mi' }) }],
  };
  return [...presses, gateway, small];
}

const where = (t: Target) => `${t.deviceId} (client ${t.clientId})`;

/** Runs the demo against a running WFM; prints as it goes; never throws. */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const { log } = options;
  const timeout = options.stepTimeoutMs ?? 30_000;
  const run = randomBytes(3).toString('hex');
  const line = `paint-${run}`;
  const devices = plant(run, line);
  const agents: SimulatedAgent[] = [];
  const closers: (() => void)[] = [];
  const failures: string[] = [];
  let deploymentId: string | undefined;
  let publishedPackage = false;

  const targets = async (): Promise<Target[]> => {
    const res = await operatorCall(options, 'GET', `/deployments/${deploymentId}`);
    if (res.status !== 200) throw new DemoStepError(`GET deployment answered ${res.status}`);
    return res.json<{ targets: Target[] }>().targets;
  };
  const placedOf = (ts: Target[]) =>
    ts.filter((t) => t.placement === 'placed').sort((a, b) => a.deviceId.localeCompare(b.deviceId));
  const hosting = devices.flatMap((d) => d.devices).filter((d) => d.deviceId !== 'gw-1');
  const expectedPlaced = hosting.filter((d) => d.deviceId !== 'press-small').map((d) => d.deviceId);

  try {
    log(`Demo run ${run}: a paint line labelled line=${line} at ${options.url}\n`);

    log('1. Enrolling the devices (rc.3, X.509-SVIDs from the development CA) and starting their agents');
    for (const d of devices) {
      const client = await enrollRc3(options, d.clientId);
      closers.push(() => client.close());
      const agent = new SimulatedAgent({
        name: d.clientId,
        client,
        devices: d.devices,
        pollIntervalMs: 1_000,
        installDelayMs: 150,
      });
      agents.push(agent);
      agent.start();
      log(`   ${d.clientId}: ${d.devices.map((x) => describeDevice(x)).join('; ')}`);
    }
    await waitFor(
      () => (agents.every((a) => a.counters.polls > 0 && a.counters.errors === 0) ? true : undefined),
      timeout,
      () => 'every agent has reported its capabilities and polled its manifest',
    );
    log('   ✔ all devices reported their capabilities and polled for their desired state\n');

    log(`2. Publishing the example package ${APPLICATION_ID} (examples/line-monitor/margo.yaml)`);
    const pkg = await operatorCall(
      options,
      'POST',
      '/applications',
      await readExample('line-monitor/margo.yaml'),
      'application/yaml',
    );
    if (pkg.status !== 201 && pkg.status !== 409) {
      throw new DemoStepError(`publishing the package answered ${pkg.status}: ${pkg.text().slice(0, 300)}`);
    }
    publishedPackage = pkg.status === 201;
    log(
      pkg.status === 201
        ? '   ✔ published version 2.1.0'
        : '   ✔ version 2.1.0 was already published: reusing it',
    );

    log(
      `\n3. Deploying line-monitor to every device labelled line=${line} (siteId DE-001, sample rate 10 Hz)`,
    );
    const created = await operatorCall(options, 'POST', '/deployments', {
      applicationId: APPLICATION_ID,
      version: '2.1.0',
      parameters: { lineName: 'Paint line', siteId: 'DE-001', sampleRate: 10 },
      target: { selector: { matchLabels: { line } } },
    });
    if (created.status !== 201) {
      throw new DemoStepError(
        `creating the deployment answered ${created.status}: ${created.text().slice(0, 300)}`,
      );
    }
    deploymentId = created.json<{ id: string }>().id;
    log(`   deployment ${deploymentId}`);

    let last: Target[] = [];
    const placement = await waitFor(
      async () => {
        last = await targets();
        const placed = placedOf(last).map((t) => t.deviceId);
        const small = last.find((t) => t.deviceId === 'press-small');
        const ok =
          expectedPlaced.every((id) => placed.includes(id)) &&
          placed.length === expectedPlaced.length &&
          small?.placement === 'not-placeable' &&
          small.reasons.length > 0;
        return ok ? last : undefined;
      },
      timeout,
      () =>
        `line-monitor placed on ${expectedPlaced.join(', ')} and press-small refused with reasons; ` +
        `got ${last.map((t) => `${t.deviceId}=${t.placement}`).join(', ') || 'no targets'}`,
    );
    log(`   ✔ placed on ${expectedPlaced.length} devices:`);
    for (const t of placedOf(placement)) log(`     - ${where(t)}`);
    const small = placement.find((t) => t.deviceId === 'press-small')!;
    log(`   ✔ not placed on ${where(small)}, because: ${small.reasons.join('; ')}`);
    log(
      '     (the gateway gw-1 hosts nothing itself and has no line label; its two cells got their own copies)\n',
    );

    log('4. Waiting for the devices to install it and report back');
    const installed = await waitFor(
      async () => {
        last = await targets();
        const placed = placedOf(last);
        return placed.length === expectedPlaced.length && placed.every(inSyncWithManifest)
          ? placed
          : undefined;
      },
      timeout,
      () =>
        `every placed device reports installed for its current manifest (derived state in-sync); got ` +
        placedOf(last)
          .map((t) => `${t.deviceId}=${t.derivedState ?? '?'}`)
          .join(', '),
    );
    for (const t of installed) {
      log(`   ✔ ${where(t)}: ${t.status?.state} for manifest version ${t.manifestVersion} → in-sync`);
    }

    log('\n5. Changing a parameter: sample rate 10 Hz → 25 Hz');
    const before = new Map(installed.map((t) => [t.deploymentId, t]));
    const patch = await operatorCall(options, 'PATCH', `/deployments/${deploymentId}`, {
      parameters: { lineName: 'Paint line', siteId: 'DE-001', sampleRate: 25 },
    });
    if (patch.status !== 200) {
      throw new DemoStepError(
        `changing the parameter answered ${patch.status}: ${patch.text().slice(0, 300)}`,
      );
    }
    const rolled = await waitFor(
      async () => {
        last = await targets();
        const placed = placedOf(last);
        const done = placed.every((t) => {
          const old = before.get(t.deploymentId);
          return (
            old !== undefined &&
            t.digest !== old.digest &&
            BigInt(t.manifestVersion ?? '0') > BigInt(old.manifestVersion ?? '0') &&
            inSyncWithManifest(t)
          );
        });
        return placed.length === expectedPlaced.length && done ? placed : undefined;
      },
      timeout,
      () =>
        'every device got a new manifest version with sampleRate 25 and reported it installed; got ' +
        placedOf(last)
          .map((t) => `${t.deviceId}=${t.derivedState ?? '?'}@${t.status?.adoptedManifestVersion ?? '-'}`)
          .join(', '),
    );
    for (const t of rolled) {
      const old = before.get(t.deploymentId)!;
      log(
        `   ✔ ${where(t)}: manifest version ${old.manifestVersion} → ${t.manifestVersion}, ` +
          `${t.status?.state} → in-sync`,
      );
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  }

  await cleanUp();
  const seconds = (Date.now() - started) / 1000;
  if (failures.length === 0) {
    log(`\n✔ Demo complete in ${seconds.toFixed(1)} s: everything above happened as printed.`);
  } else {
    log(`\n✘ Demo FAILED after ${seconds.toFixed(1)} s. What did not happen:`);
    for (const f of failures) log(`   - ${f}`);
  }
  return { success: failures.length === 0, failures, seconds };

  /** Deletes the deployment (and waits for the devices to remove it), stops agents, retires clients. */
  async function cleanUp(): Promise<void> {
    try {
      if (deploymentId) {
        log('\n6. Cleaning up: deleting the deployment');
        const del = await operatorCall(options, 'DELETE', `/deployments/${deploymentId}`);
        if (del.status !== 202 && del.status !== 204) {
          throw new DemoStepError(`deleting the deployment answered ${del.status}`);
        }
        await waitFor(
          () => (agents.every((a) => a.deployments.size === 0) ? true : undefined),
          timeout,
          () => 'every device removed line-monitor and reported removed',
        );
        log(`   ✔ all devices removed line-monitor and reported "removed"`);
      }
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
    try {
      // only a package this run published: one that was there before belongs to someone else
      if (publishedPackage) {
        const del = await operatorCall(options, 'DELETE', `/applications/${APPLICATION_ID}/versions/2.1.0`);
        if (del.status !== 204 && del.status !== 200 && del.status !== 404) {
          throw new DemoStepError(
            `removing the package it published answered ${del.status}: ${del.text().slice(0, 300)}`,
          );
        }
        log(`   ✔ removed the package ${APPLICATION_ID} 2.1.0 it published`);
      }
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    }
    await Promise.all(agents.map((a) => a.stop()));
    for (const close of closers) close();
    for (const d of devices) {
      await retireClient(options, d.clientId).catch((error: unknown) => {
        failures.push(`retiring ${d.clientId}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    if (agents.length > 0) log(`   ✔ retired the ${devices.length} demo clients`);
  }
}

/** Installed for the manifest version that currently lists it, and the WFM agrees (in-sync). */
/**
 * Installed and in sync, as the service derives it: the device adopted a manifest that lists this
 * deployment at its current digest. (Comparing the adopted version with the target's `manifestVersion`
 * would wait forever for a device whose client's manifest moved on for another of its devices only:
 * that device has nothing new to report.)
 */
function inSyncWithManifest(t: Target): boolean {
  return t.derivedState === 'in-sync' && t.status?.state === 'installed';
}

function describeDevice(device: SimulatedDevice): string {
  const props = (device.capabilities as { properties?: Record<string, unknown> }).properties ?? {};
  const cpus = props.cpus as { cores: number; architecture: string }[] | undefined;
  if (!cpus) return `${device.deviceId} (gateway)`;
  return `${device.deviceId} (${cpus[0].cores} cores ${cpus[0].architecture}, ${String(props.memory)})`;
}
