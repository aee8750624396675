/**
 * Revision pinning (issue 16, item 3), pure: which revision a target renders while a rollout governs
 * its deployment (docs/decisions.md, "Staged rollouts").
 *
 * - No governing rollout (none yet, or the last one completed or was rolled back): the deployment's
 *   current revision, as before rollouts existed.
 * - A target in a started wave: the rollout's revision.
 * - Any other target that has a rendering keeps it (same bytes, same digest: nothing to download).
 * - A device without a rendering (it started to match during the rollout, or the rollout is the
 *   deployment's first): the last revision that completed, or nothing for a first rollout, until
 *   the rollout completes.
 */

/** The rollout a deployment's targets follow (the row's `rollout_id`). */
export interface Governing {
  toRevision: number;
  /** The deployment's last completed revision (null while its first rollout runs). */
  stableRevision: number | null;
}

export type Pin =
  | { kind: 'current' }
  /** Reached by the rollout: its revision. */
  | { kind: 'reached'; revision: number }
  /** Not reached yet: keeps the rendering it has (at `revision`). */
  | { kind: 'kept'; revision: number; note: string }
  /** Started to match during the rollout: the last completed revision. */
  | { kind: 'late'; revision: number; note: string }
  /** Nothing to render until the rollout reaches it or completes. */
  | { kind: 'wait'; note: string };

export function pinOf(
  governing: Governing | null,
  reached: boolean,
  before: { renderedRevision: number | null; digest: string | null } | undefined,
): Pin {
  if (!governing) return { kind: 'current' };
  const r = governing.toRevision;
  if (reached) return { kind: 'reached', revision: r };
  if (before?.digest && before.renderedRevision !== null) {
    return {
      kind: 'kept',
      revision: before.renderedRevision,
      note: `not reached yet by the rollout of revision ${r}: stays on revision ${before.renderedRevision}`,
    };
  }
  if (governing.stableRevision !== null) {
    return {
      kind: 'late',
      revision: governing.stableRevision,
      note: `joined during the rollout of revision ${r}: gets revision ${governing.stableRevision}, the last completed one, until the rollout completes`,
    };
  }
  return {
    kind: 'wait',
    note: `waiting for the deployment's first rollout (revision ${r}) to reach this device or complete`,
  };
}
