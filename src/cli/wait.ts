/** Progress output (stderr, only on a terminal) and `apply --wait`. */
import type { OperatorClient, Schemas } from '../api-client/index.js';
import { CliError, EXIT, ok } from './http.js';

/** A progress line on stderr, rewritten in place; nothing when stderr is not a terminal (scripts, CI). */
export function progress(message: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r\x1b[2K${message}`);
}

/** Ends a progress line (a newline when one was written). */
function endProgress(): void {
  if (process.stderr.isTTY) process.stderr.write('\n');
}

export interface Rollout {
  /** Every placed target is rendered for the current revision and in-sync; nothing waits for a recompute. */
  done: boolean;
  /** Targets whose device reported a failure. */
  failed: string[];
  summary: string;
}

/** Whether the device reported a manifest version newer than `version` for this target. */
function adoptedAfter(target: Schemas['DeploymentTargetDto'], version: string | null | undefined): boolean {
  const adopted = target.status?.adoptedManifestVersion;
  if (version === null || version === undefined) return true;
  if (typeof adopted !== 'string' && typeof adopted !== 'number') return false;
  return BigInt(adopted) > BigInt(version);
}

/**
 * Where the targets of a deployment stand (pure); `before` is the deployment as it was before the
 * change, to tell a report for the previous document from one for the current.
 */
export function rolloutOf(deployment: Schemas['DeploymentDto'], before?: Schemas['DeploymentDto']): Rollout {
  const previous = new Map((before?.targets ?? []).map((t) => [t.deploymentId, t]));
  const counts: Record<string, number> = {};
  const failed: string[] = [];
  let placed = 0;
  let inSync = 0;
  let pending = 0;
  for (const t of deployment.targets) {
    if (t.placement === 'pending-recompute') pending += 1;
    if (t.placement !== 'placed') {
      counts[t.placement] = (counts[t.placement] ?? 0) + 1;
      continue;
    }
    placed += 1;
    // a target rendered for an older revision still shows the state of the previous document
    let state = t.renderedRevision === deployment.revision ? (t.derivedState ?? 'unknown') : 'pending-render';
    // a new document can only be listed in a newer manifest than the one that listed the old: until
    // the device reports that, "in-sync" still describes the old document
    const old = previous.get(t.deploymentId);
    if (state === 'in-sync' && old && old.digest !== t.digest && !adoptedAfter(t, old.manifestVersion)) {
      state = 'lagging';
    }
    if (state === 'in-sync') inSync += 1;
    else counts[state] = (counts[state] ?? 0) + 1;
    if (state === 'failed') failed.push(`${t.clientId}/${t.deviceId}`);
  }
  const rest = Object.entries(counts).map(([k, v]) => `${v} ${k}`);
  return {
    done: pending === 0 && inSync === placed,
    failed,
    summary: [`${inSync}/${placed} placed targets in-sync`, ...rest].join(', '),
  };
}

/**
 * Polls the deployment until every placed target is in-sync. A failed target exits 1, the timeout
 * exits 5. A deployment without any target yet is given a few seconds for its first recompute.
 */
export async function waitForDeployment(
  client: OperatorClient,
  id: string,
  timeoutMs: number,
  before?: Schemas['DeploymentDto'],
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const deployment = await ok(client.GET('/operator/v1/deployments/{id}', { params: { path: { id } } }));
    const rollout = rolloutOf(deployment, before);
    const elapsed = Date.now() - started;
    progress(`deployment ${id}: ${rollout.summary} (${Math.round(elapsed / 1000)}s)`);
    if (rollout.failed.length > 0) {
      endProgress();
      throw new CliError(`deployment ${id}: failed on ${rollout.failed.join(', ')}`, EXIT.service);
    }
    const settled = deployment.targets.length > 0 || elapsed > Math.min(3_000, timeoutMs / 2);
    if (rollout.done && settled) {
      endProgress();
      process.stdout.write(`deployment ${id}: ${rollout.summary}\n`);
      return;
    }
    if (elapsed > timeoutMs) {
      endProgress();
      throw new CliError(
        `deployment ${id}: not in-sync after ${timeoutMs / 1000}s (${rollout.summary})`,
        EXIT.timeout,
      );
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
