import { Injectable } from '@nestjs/common';
import { PrismaService } from '../../infra/database/prisma.service.js';

/** The stream-token signing key, kept in `wfm_meta` so every instance sharing the database shares it. */
@Injectable()
export class StreamKeyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Reads a `wfm_meta` value, storing `initial` first when the key is new (race-free across instances). */
  async metaValue(key: string, initial: string): Promise<string> {
    await this.prisma.wfmMeta.createMany({ data: [{ key, value: initial }], skipDuplicates: true });
    const row = await this.prisma.wfmMeta.findUniqueOrThrow({ where: { key } });
    return row.value;
  }
}
