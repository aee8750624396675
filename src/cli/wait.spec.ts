import { describe, expect, it } from 'vitest';
import type { Schemas } from '../api-client/index.js';
import { rolloutOf } from './wait.js';

type Target = Schemas['DeploymentTargetDto'];
const target = (over: Partial<Target>): Target => ({
  clientId: 'c',
  deviceId: 'd',
  deploymentId: 'x',
  placement: 'placed',
  reasons: [],
  inManifest: true,
  parameters: [],
  renderedRevision: 2,
  updatedAt: '2026-12-02T10:00:00.000Z',
  ...over,
});
const deployment = (targets: Target[]) => ({ revision: 2, targets }) as Schemas['DeploymentDto'];

describe('rolloutOf', () => {
  it('is done when every placed target is in-sync; not-placeable ones do not hold it up', () => {
    const r = rolloutOf(
      deployment([
        target({ derivedState: 'in-sync' }),
        target({ placement: 'not-placeable', deviceId: 'e' }),
      ]),
    );
    expect(r).toEqual({ done: true, failed: [], summary: '1/1 placed targets in-sync, 1 not-placeable' });
  });

  it('waits for installing targets and pending recomputes, and names failed ones', () => {
    expect(rolloutOf(deployment([target({ derivedState: 'installing' })])).done).toBe(false);
    expect(rolloutOf(deployment([target({ placement: 'pending-recompute' })])).done).toBe(false);
    // in-sync with the previous revision's document: the change has not reached the device yet
    const old = rolloutOf(deployment([target({ derivedState: 'in-sync', renderedRevision: 1 })]));
    expect(old).toMatchObject({ done: false, summary: '0/1 placed targets in-sync, 1 pending-render' });
    expect(rolloutOf(deployment([target({ derivedState: 'failed', deviceId: 'p1' })])).failed).toEqual([
      'c/p1',
    ]);
  });

  it('a report for the previous document is not in-sync, whatever the derived state says', () => {
    const before = deployment([
      target({ digest: 'sha256:old', manifestVersion: '4', derivedState: 'in-sync' }),
    ]);
    const stale = target({
      digest: 'sha256:new',
      derivedState: 'in-sync',
      status: { adoptedManifestVersion: '4' },
    });
    expect(rolloutOf(deployment([stale]), before)).toMatchObject({
      done: false,
      summary: expect.stringContaining('1 lagging'),
    });
    const adopted = target({
      digest: 'sha256:new',
      derivedState: 'in-sync',
      status: { adoptedManifestVersion: '5' },
    });
    expect(rolloutOf(deployment([adopted]), before).done).toBe(true);
  });
});
