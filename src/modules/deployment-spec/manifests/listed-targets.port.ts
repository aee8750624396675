import type { Prisma } from '../../../generated/prisma/client.js';

/** One ApplicationDeployment a manifest lists. */
export interface ListedEntry {
  /** The target (ApplicationDeployment) id. */
  id: string;
  digest: string;
  sizeBytes: number;
}

/** A target listed by a newly issued manifest: since which version, and whether its digest is new in it. */
export interface ListedMark {
  clientId: string;
  id: string;
  version: bigint;
  changed: boolean;
}

/**
 * What the manifest side needs from the deployment side: which targets each client's manifest lists
 * now, and the record of which manifest listed them. manifests/ defines it, deployments/ implements it
 * (ListedTargetsAdapter), so the manifest side never reads or writes `deployment_target` itself.
 * Both run inside the caller's transaction, which holds the clients' manifest locks.
 */
export const LISTED_TARGETS = Symbol('LISTED_TARGETS');

export interface ListedTargets {
  /** The entries each client's manifest lists, in id order (every asked client has a list). */
  entriesOf(clientIds: string[], tx: Prisma.TransactionClient): Promise<Map<string, ListedEntry[]>>;
  /**
   * After new manifests of `clientIds` were issued: marks the targets they list (`listed`) as in
   * the manifest, and every other target of those clients as not listed.
   */
  markListed(tx: Prisma.TransactionClient, clientIds: string[], listed: ListedMark[]): Promise<void>;
}
