import { Injectable } from '@nestjs/common';
import { Prisma } from '../../generated/prisma/client.js';
import type {
  Client,
  ClientProfile,
  ClientSettings,
  ClientState,
  FleetSettings,
  PreauthorizedCertificate,
} from '../../generated/prisma/client.js';
import { keysetAfter, keysetOrder } from '../../infra/database/keyset.js';
import { PrismaService } from '../../infra/database/prisma.service.js';

export type ClientRow = Client;
export type ClientSettingsRow = ClientSettings;
export type FleetSettingsRow = FleetSettings;
export type PreauthorizedRow = PreauthorizedCertificate;

export interface ClientListFilter {
  profile?: ClientProfile;
  state?: ClientState;
  /** The key `[createdAt, id]` of the previous page's last client. */
  after?: readonly [Date, string];
  take: number;
  /** A principal's label scope: only clients owning a live device whose labels contain it. */
  scope?: Record<string, string>;
}

/** The one scope predicate on clients `c`: it owns a live device inside the scope. */
function ownsDeviceIn(scope: Record<string, string>): Prisma.Sql {
  return Prisma.sql`EXISTS (SELECT 1 FROM device d WHERE d.client_id = c.id AND d.deleted_at IS NULL
                             AND d.effective_labels @> ${JSON.stringify(scope)}::jsonb)`;
}

export interface SettingsPatch {
  pollingIntervalSeconds?: number | null;
  pollingPeriod?: unknown;
  downtimeWindows?: unknown;
}

type Db = PrismaService | Prisma.TransactionClient;

function json(value: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === null ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

/** Clients, their settings and pre-registered certificates: the only Prisma user of enrollment's client data. */
@Injectable()
export class ClientRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Runs `fn` in one transaction (an operator change and its audit entry commit together). */
  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  findByExternalId(
    profile: ClientProfile,
    externalId: string,
    db: Db = this.prisma,
  ): Promise<ClientRow | null> {
    return db.client.findUnique({ where: { profile_externalId: { profile, externalId } } });
  }

  /** `findByExternalId`, and only when the client owns a live device inside `scope` (when given). */
  async findVisible(
    profile: ClientProfile,
    externalId: string,
    scope: Record<string, string> | undefined,
  ): Promise<ClientRow | null> {
    if (scope === undefined) return this.findByExternalId(profile, externalId);
    const rows = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT c.id::text AS id FROM client c
       WHERE c.profile = ${profile}::client_profile AND c.external_id = ${externalId} AND ${ownsDeviceIn(scope)}`;
    return rows[0] ? this.findById(rows[0].id) : null;
  }

  findById(id: string): Promise<ClientRow | null> {
    return this.prisma.client.findUnique({ where: { id } });
  }

  /** Id, external id and profile of many clients in one query. */
  refsOf(ids: string[]): Promise<Pick<ClientRow, 'id' | 'externalId' | 'profile'>[]> {
    return this.prisma.client.findMany({
      where: { id: { in: ids } },
      select: { id: true, externalId: true, profile: true },
    });
  }

  findByFingerprint(fingerprint: string): Promise<ClientRow | null> {
    return this.prisma.client.findUnique({ where: { certFingerprint: fingerprint } });
  }

  /**
   * Accepts an rc.3 client (creates or re-activates it); `created` tells which, `previous` is the
   * state it had. Safe inside a transaction: a concurrent create is an ON CONFLICT, not an error.
   */
  async upsertRc3(
    externalId: string,
    db: Db = this.prisma,
  ): Promise<{ row: ClientRow; created: boolean; previous: ClientState | null }> {
    const existing = await this.findByExternalId('rc3', externalId, db);
    if (existing) {
      const row =
        existing.state === 'active'
          ? existing
          : await db.client.update({
              where: { id: existing.id },
              data: { state: 'active', stateChangedAt: new Date() },
            });
      return { row, created: false, previous: existing.state };
    }
    const [row] = await db.client.createManyAndReturn({
      data: [{ profile: 'rc3', externalId, state: 'active' }],
      skipDuplicates: true,
    });
    if (row) return { row, created: true, previous: null };
    return this.upsertRc3(externalId, db); // accepted concurrently
  }

  /** Records a legacy onboarding; undefined when that certificate is already onboarded. */
  async createLegacy(data: {
    externalId: string;
    state: ClientState;
    certFingerprint: string;
    certificatePem: string;
    keyId: string;
    possessionProvenAt: Date | null;
  }): Promise<ClientRow | undefined> {
    try {
      return await this.prisma.client.create({ data: { profile: 'legacy', ...data } });
    } catch (error) {
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return undefined;
      throw error;
    }
  }

  /** Legacy: records that the key holder proved possession; a rejected, never proven client returns to pending. */
  markPossessionProven(id: string, reopen: boolean): Promise<ClientRow> {
    const now = new Date();
    return this.prisma.client.update({
      where: { id },
      data: { possessionProvenAt: now, ...(reopen ? { state: 'pending', stateChangedAt: now } : {}) },
    });
  }

  /** Legacy onboarding requests that wait for an operator's decision. */
  countPendingLegacy(): Promise<number> {
    return this.prisma.client.count({ where: { profile: 'legacy', state: 'pending' } });
  }

  setState(id: string, state: ClientState, db: Db = this.prisma): Promise<ClientRow> {
    return db.client.update({ where: { id }, data: { state, stateChangedAt: new Date() } });
  }

  /** Clients in creation order (keyset pagination); with a scope, only those owning a device inside it. */
  async list(filter: ClientListFilter): Promise<ClientRow[]> {
    if (filter.scope !== undefined) return this.listInScope(filter, filter.scope);
    const where: Prisma.ClientWhereInput = { profile: filter.profile, state: filter.state };
    if (filter.after) {
      const [createdAt, id] = filter.after;
      where.AND = keysetAfter([
        { field: 'createdAt', value: createdAt, dir: 'asc' },
        { field: 'id', value: id, dir: 'asc' },
      ]);
    }
    return this.prisma.client.findMany({
      where,
      orderBy: keysetOrder([
        { field: 'createdAt', dir: 'asc' },
        { field: 'id', dir: 'asc' },
      ]),
      take: filter.take,
    });
  }

  private async listInScope(filter: ClientListFilter, scope: Record<string, string>): Promise<ClientRow[]> {
    const where: Prisma.Sql[] = [ownsDeviceIn(scope)];
    if (filter.profile) where.push(Prisma.sql`c.profile = ${filter.profile}::client_profile`);
    if (filter.state) where.push(Prisma.sql`c.state = ${filter.state}::client_state`);
    if (filter.after) {
      where.push(
        Prisma.sql`(c.created_at, c.id) > (${filter.after[0]}::timestamptz, ${filter.after[1]}::uuid)`,
      );
    }
    const ids = await this.prisma.$queryRaw<{ id: string }[]>`
      SELECT c.id::text AS id FROM client c
       WHERE ${Prisma.join(where, ' AND ')}
       ORDER BY c.created_at, c.id
       LIMIT ${filter.take}`;
    const rows = await this.prisma.client.findMany({ where: { id: { in: ids.map((r) => r.id) } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((r) => byId.get(r.id)).filter((r): r is ClientRow => r !== undefined);
  }

  /** Batched "last seen" bookkeeping from the request path. */
  async touch(entries: { id: string; at: Date; address: string | null }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.prisma.$executeRaw`
      UPDATE client AS c
         SET last_seen_at = v.at,
             first_seen_at = COALESCE(c.first_seen_at, v.at),
             last_remote_address = COALESCE(v.address, c.last_remote_address)
        FROM unnest(${entries.map((e) => e.id)}::uuid[], ${entries.map((e) => e.at)}::timestamptz[],
                    ${entries.map((e) => e.address)}::text[]) AS v(id, at, address)
       WHERE c.id = v.id AND (c.last_seen_at IS NULL OR c.last_seen_at < v.at)`;
  }

  async settingsOf(clientIds: string[]): Promise<Map<string, ClientSettingsRow>> {
    const rows = await this.prisma.clientSettings.findMany({ where: { clientId: { in: clientIds } } });
    return new Map(rows.map((r) => [r.clientId, r]));
  }

  findSettings(clientId: string, db: Db = this.prisma): Promise<ClientSettingsRow | null> {
    return db.clientSettings.findUnique({ where: { clientId } });
  }

  upsertSettings(clientId: string, patch: SettingsPatch, db: Db = this.prisma): Promise<ClientSettingsRow> {
    const data = {
      ...(patch.pollingIntervalSeconds !== undefined
        ? { pollingIntervalSeconds: patch.pollingIntervalSeconds }
        : {}),
      ...(patch.pollingPeriod !== undefined ? { pollingPeriod: json(patch.pollingPeriod) } : {}),
      ...(patch.downtimeWindows !== undefined ? { downtimeWindows: json(patch.downtimeWindows) } : {}),
    };
    return db.clientSettings.upsert({
      where: { clientId },
      create: { clientId, ...data },
      update: data,
    });
  }

  /** The single fleet-defaults row, created on first use (concurrent first reads must not collide). */
  async fleetSettings(): Promise<FleetSettingsRow> {
    const row = await this.prisma.fleetSettings.findUnique({ where: { id: 1 } });
    if (row) return row;
    await this.prisma
      .$executeRaw`INSERT INTO fleet_settings (id, updated_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING`;
    return (await this.prisma.fleetSettings.findUnique({ where: { id: 1 } }))!;
  }

  updateFleetSettings(patch: SettingsPatch, db: Db = this.prisma): Promise<FleetSettingsRow> {
    const data = {
      ...(patch.pollingIntervalSeconds !== undefined && patch.pollingIntervalSeconds !== null
        ? { pollingIntervalSeconds: patch.pollingIntervalSeconds }
        : {}),
      ...(patch.pollingPeriod !== undefined ? { pollingPeriod: json(patch.pollingPeriod) } : {}),
      ...(patch.downtimeWindows !== undefined
        ? { downtimeWindows: (patch.downtimeWindows ?? []) as Prisma.InputJsonValue }
        : {}),
    };
    return db.fleetSettings.upsert({ where: { id: 1 }, create: { id: 1, ...data }, update: data });
  }

  findPreauthorized(fingerprint: string, db: Db = this.prisma): Promise<PreauthorizedRow | null> {
    return db.preauthorizedCertificate.findUnique({ where: { fingerprint } });
  }

  upsertPreauthorized(
    fingerprint: string,
    note: string | null,
    db: Db = this.prisma,
  ): Promise<PreauthorizedRow> {
    return db.preauthorizedCertificate.upsert({
      where: { fingerprint },
      create: { fingerprint, note },
      update: { note },
    });
  }

  /** Pre-registered certificates in creation order, after the key `[createdAt, fingerprint]`. */
  listPreauthorized(page: { after?: readonly [Date, string]; take: number }): Promise<PreauthorizedRow[]> {
    const [createdAt, fingerprint] = page.after ?? [];
    return this.prisma.preauthorizedCertificate.findMany({
      where: page.after
        ? keysetAfter([
            { field: 'createdAt', value: createdAt, dir: 'asc' },
            { field: 'fingerprint', value: fingerprint, dir: 'asc' },
          ])
        : undefined,
      orderBy: keysetOrder([
        { field: 'createdAt', dir: 'asc' },
        { field: 'fingerprint', dir: 'asc' },
      ]),
      take: page.take,
    });
  }

  async deletePreauthorized(fingerprint: string, db: Db = this.prisma): Promise<boolean> {
    const result = await db.preauthorizedCertificate.deleteMany({ where: { fingerprint } });
    return result.count > 0;
  }

  markPreauthorizedUsed(fingerprint: string): Promise<unknown> {
    return this.prisma.preauthorizedCertificate.updateMany({
      where: { fingerprint },
      data: { usedAt: new Date() },
    });
  }
}
