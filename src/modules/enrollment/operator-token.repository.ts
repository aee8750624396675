import { Injectable } from '@nestjs/common';
import { Prisma, type OperatorRole, type OperatorToken } from '../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../infra/database/keyset.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type OperatorTokenRow = OperatorToken;
type Db = PrismaService | Prisma.TransactionClient;

@Injectable()
export class OperatorTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `fn` in one transaction (a token change and its audit entry commit together). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  findActiveByHash(tokenHash: string): Promise<OperatorTokenRow | null> {
    return this.prisma.operatorToken.findFirst({ where: { tokenHash, revokedAt: null } });
  }

  create(
    data: {
      name: string;
      role: OperatorRole;
      tokenHash: string;
      prefix: string;
      createdBy: string;
      scope?: Record<string, string>;
    },
    db: Db = this.prisma,
  ): Promise<OperatorTokenRow> {
    return db.operatorToken.create({ data: { ...data, scope: data.scope ?? Prisma.DbNull } });
  }

  /** Tokens in creation order, after the key `[createdAt, id]` when given. */
  list(page: { after?: readonly [Date, string]; take: number }): Promise<OperatorTokenRow[]> {
    const [createdAt, id] = page.after ?? [];
    return this.prisma.operatorToken.findMany({
      where: page.after
        ? keysetAfter([
            { field: 'createdAt', value: createdAt, dir: 'asc' },
            { field: 'id', value: id, dir: 'asc' },
          ])
        : undefined,
      orderBy: keysetOrder([
        { field: 'createdAt', dir: 'asc' },
        { field: 'id', dir: 'asc' },
      ]),
      take: page.take,
    });
  }

  findById(id: string): Promise<OperatorTokenRow | null> {
    return this.prisma.operatorToken.findUnique({ where: { id } });
  }

  /** Which of `ids` still exist and are not revoked (one query, for the open event streams). */
  async activeIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.prisma.operatorToken.findMany({
      where: { id: { in: [...ids] }, revokedAt: null },
      select: { id: true },
    });
    return new Set(rows.map((row) => row.id));
  }

  revoke(id: string, db: Db = this.prisma): Promise<OperatorTokenRow> {
    return db.operatorToken.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  touch(id: string): Promise<unknown> {
    return this.prisma.operatorToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
