import { Injectable } from '@nestjs/common';
import type { OperatorRole, OperatorToken } from '../../generated/prisma/client.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type OperatorTokenRow = OperatorToken;

@Injectable()
export class OperatorTokenRepository {
  constructor(private readonly prisma: PrismaService) {}

  findActiveByHash(tokenHash: string): Promise<OperatorTokenRow | null> {
    return this.prisma.operatorToken.findFirst({ where: { tokenHash, revokedAt: null } });
  }

  create(data: {
    name: string;
    role: OperatorRole;
    tokenHash: string;
    prefix: string;
    createdBy: string;
  }): Promise<OperatorTokenRow> {
    return this.prisma.operatorToken.create({ data });
  }

  list(): Promise<OperatorTokenRow[]> {
    return this.prisma.operatorToken.findMany({ orderBy: { createdAt: 'asc' } });
  }

  findById(id: string): Promise<OperatorTokenRow | null> {
    return this.prisma.operatorToken.findUnique({ where: { id } });
  }

  revoke(id: string): Promise<OperatorTokenRow> {
    return this.prisma.operatorToken.update({ where: { id }, data: { revokedAt: new Date() } });
  }

  touch(id: string): Promise<unknown> {
    return this.prisma.operatorToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
