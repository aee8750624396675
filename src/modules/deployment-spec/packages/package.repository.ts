import { Injectable } from '@nestjs/common';
import { Prisma } from '../../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../../infra/database/keyset.js';
import { PrismaService } from '../../../infra/database/prisma.service.js';
import type { PackageRow } from './package-row.js';

type Db = PrismaService | Prisma.TransactionClient;

/** Package versions (`application_package`): immutable once stored. */
@Injectable()
export class PackageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `fn` in one transaction (a package change and its audit entry commit together). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  /** Undefined when that (applicationId, version) exists already. */
  async create(
    data: {
      applicationId: string;
      version: string;
      name: string;
      document: unknown;
      source: Buffer;
      contentType: string;
      createdBy: string;
    },
    db: Db = this.prisma,
  ): Promise<PackageRow | undefined> {
    // ON CONFLICT DO NOTHING rather than catching P2002: safe inside a transaction
    const [row] = await db.applicationPackage.createManyAndReturn({
      data: [
        { ...data, document: data.document as Prisma.InputJsonValue, source: new Uint8Array(data.source) },
      ],
      skipDuplicates: true,
    });
    return row;
  }

  findById(id: string): Promise<PackageRow | null> {
    return this.prisma.applicationPackage.findUnique({ where: { id } });
  }

  find(applicationId: string, version: string): Promise<PackageRow | null> {
    return this.prisma.applicationPackage.findUnique({
      where: { applicationId_version: { applicationId, version } },
    });
  }

  /** Versions of one application, newest first. */
  versions(applicationId: string): Promise<PackageRow[]> {
    return this.prisma.applicationPackage.findMany({
      where: { applicationId },
      orderBy: { createdAt: 'desc' },
    });
  }

  /** By application, newest version first; after the key `[applicationId, createdAt, id]` when given. */
  list(page: { after?: readonly [string, Date, string]; take: number }): Promise<PackageRow[]> {
    const sort = [
      { field: 'applicationId', dir: 'asc' },
      { field: 'createdAt', dir: 'desc' },
      { field: 'id', dir: 'asc' },
    ] as const;
    return this.prisma.applicationPackage.findMany({
      where: page.after ? keysetAfter(sort.map((c, i) => ({ ...c, value: page.after![i] }))) : undefined,
      orderBy: keysetOrder(sort),
      take: page.take,
    });
  }

  delete(id: string, db: Db = this.prisma): Promise<unknown> {
    return db.applicationPackage.delete({ where: { id } });
  }
}
