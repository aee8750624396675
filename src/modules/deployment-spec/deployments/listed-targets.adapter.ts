import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../../generated/prisma/client.js';
import type { ListedEntry, ListedMark, ListedTargets } from '../manifests/listed-targets.port.js';
import { DeploymentRepository } from './deployment.repository.js';

/** manifests/'s LISTED_TARGETS port: the deployment side says what each manifest lists. */
@Injectable()
export class ListedTargetsAdapter implements ListedTargets {
  constructor(private readonly deployments: DeploymentRepository) {}

  entriesOf(clientIds: string[], tx: Prisma.TransactionClient): Promise<Map<string, ListedEntry[]>> {
    return this.deployments.manifestEntriesOf(clientIds, tx);
  }

  markListed(tx: Prisma.TransactionClient, clientIds: string[], listed: ListedMark[]): Promise<void> {
    return this.deployments.markListed(tx, clientIds, listed);
  }
}
