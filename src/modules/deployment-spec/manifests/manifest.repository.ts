import { Injectable } from '@nestjs/common';
import { Prisma } from '../../../generated/prisma/client.js';
import type { ClientManifest } from '../../../generated/prisma/client.js';
import { PrismaService } from '../../../infra/database/prisma.service.js';

export type ClientManifestRow = ClientManifest;
type Db = PrismaService | Prisma.TransactionClient;

/**
 * The manifest side's tables: rendered documents (the YAML the deployment side renders, stored here
 * through ManifestService.saveDocuments), bundles, client manifests and the record of issued manifests.
 */
@Injectable()
export class ManifestRepository {
  constructor(private readonly prisma: PrismaService) {}

  transaction<T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(fn);
  }

  /** Stores many rendered documents in one statement (idempotent per (client, digest)). */
  async saveDocuments(
    docs: { clientId: string; digest: string; deploymentId: string; bytes: Buffer }[],
    db: Db = this.prisma,
  ): Promise<void> {
    if (docs.length === 0) return;
    await db.$executeRaw`
      INSERT INTO rendered_document (client_id, digest, deployment_target_id, bytes)
      SELECT * FROM unnest(${docs.map((d) => d.clientId)}::uuid[], ${docs.map((d) => d.digest)}::text[],
                           ${docs.map((d) => d.deploymentId)}::uuid[], ${docs.map((d) => d.bytes)}::bytea[])
      ON CONFLICT (client_id, digest) DO NOTHING`;
  }

  async document(clientId: string, digest: string): Promise<{ deploymentId: string; bytes: Buffer } | null> {
    const row = await this.prisma.renderedDocument.findUnique({
      where: { clientId_digest: { clientId, digest } },
    });
    return row ? { deploymentId: row.deploymentId, bytes: Buffer.from(row.bytes) } : null;
  }

  async bundle(clientId: string, digest: string): Promise<Buffer | null> {
    const row = await this.prisma.bundle.findUnique({ where: { clientId_digest: { clientId, digest } } });
    return row ? Buffer.from(row.bytes) : null;
  }

  manifest(clientId: string, db: Db = this.prisma): Promise<ClientManifestRow | null> {
    return db.clientManifest.findUnique({ where: { clientId } });
  }

  manifestsOf(clientIds: string[]): Promise<ClientManifestRow[]> {
    return this.prisma.clientManifest.findMany({ where: { clientId: { in: clientIds } } });
  }

  /** Serialises manifest rebuilds of these clients for the rest of the transaction (any instance). */
  async lockClients(tx: Prisma.TransactionClient, clientIds: string[]): Promise<void> {
    // $executeRaw: the lock function returns `void`, which $queryRaw cannot deserialise
    await tx.$executeRaw`
      SELECT pg_advisory_xact_lock(4242002, hashtext(s.id))
        FROM (SELECT id FROM unnest(${clientIds}::text[]) AS id ORDER BY id) AS s`;
  }

  /** Version and content of some clients' current manifests (not their bodies). */
  manifestsIn(
    tx: Prisma.TransactionClient,
    clientIds: string[],
  ): Promise<{ clientId: string; version: bigint; contentKey: string }[]> {
    return tx.$queryRaw`
      SELECT client_id AS "clientId", version, content_key AS "contentKey"
        FROM client_manifest WHERE client_id = ANY(${clientIds}::uuid[])`;
  }

  documentsOfMany(tx: Prisma.TransactionClient, pairs: { clientId: string; digest: string }[]) {
    return tx.$queryRaw<{ clientId: string; digest: string; bytes: Uint8Array }[]>`
      SELECT r.client_id AS "clientId", r.digest, r.bytes
        FROM rendered_document r
        JOIN unnest(${pairs.map((p) => p.clientId)}::uuid[], ${pairs.map((p) => p.digest)}::text[]) AS k(client_id, digest)
          ON r.client_id = k.client_id AND r.digest = k.digest`;
  }

  /**
   * Writes issued manifests in one statement: their rows, issue records and bundles. (Which targets
   * they list is recorded by the deployment side, through the LISTED_TARGETS port.)
   */
  async replaceMany(
    tx: Prisma.TransactionClient,
    rows: (Omit<ClientManifestRow, 'issuedAt' | 'lastPolledAt' | 'lastPolledVersion'> & {
      digests: string[];
    })[],
    bundles: { clientId: string; digest: string; bytes: Buffer }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.$executeRaw`
      WITH new_bundle AS (
        INSERT INTO bundle (client_id, digest, bytes)
        SELECT * FROM unnest(${bundles.map((b) => b.clientId)}::uuid[], ${bundles.map((b) => b.digest)}::text[],
                             ${bundles.map((b) => b.bytes)}::bytea[])
        ON CONFLICT (client_id, digest) DO NOTHING
      ), new_manifest AS (
        INSERT INTO client_manifest (client_id, client_external_id, client_profile, version, etag, body, content_key, issued_at)
        SELECT v.client_id, v.ext, v.profile, v.version, v.etag, v.body, v.content_key, now()
          FROM unnest(${rows.map((r) => r.clientId)}::uuid[], ${rows.map((r) => r.clientExternalId)}::text[],
                      ${rows.map((r) => r.clientProfile)}::text[], ${rows.map((r) => r.version)}::bigint[],
                      ${rows.map((r) => r.etag)}::text[], ${rows.map((r) => Buffer.from(r.body))}::bytea[],
                      ${rows.map((r) => r.contentKey)}::text[]) AS v(client_id, ext, profile, version, etag, body, content_key)
        ON CONFLICT (client_id) DO UPDATE
           SET version = excluded.version, etag = excluded.etag, body = excluded.body,
               content_key = excluded.content_key, issued_at = now()
      )
      INSERT INTO manifest_issue (client_id, version, digests)
      SELECT v.client_id, v.version, string_to_array(v.digests, ',')
        FROM unnest(${rows.map((r) => r.clientId)}::uuid[], ${rows.map((r) => r.version)}::bigint[],
                    ${rows.map((r) => r.digests.join(','))}::text[]) AS v(client_id, version, digests)`;
  }

  /** Inserts the first manifest unless a concurrent caller did; returns the current row. */
  async insertFirst(
    row: Omit<ClientManifestRow, 'issuedAt' | 'lastPolledAt' | 'lastPolledVersion'>,
    digests: string[],
  ): Promise<ClientManifestRow> {
    await this.prisma.$executeRaw`
      INSERT INTO client_manifest (client_id, client_external_id, client_profile, version, etag, body, content_key)
      VALUES (${row.clientId}::uuid, ${row.clientExternalId}, ${row.clientProfile}, ${row.version}, ${row.etag},
              ${Buffer.from(row.body)}, ${row.contentKey})
      ON CONFLICT (client_id) DO NOTHING`;
    await this.prisma.$executeRaw`
      INSERT INTO manifest_issue (client_id, version, digests) VALUES (${row.clientId}::uuid, ${row.version}, ${digests})
      ON CONFLICT DO NOTHING`;
    return (await this.manifest(row.clientId))!;
  }

  /** Batched "last poll" bookkeeping from the poll path. */
  async recordPolls(entries: { clientId: string; at: Date; version: bigint }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.prisma.$executeRaw`
      UPDATE client_manifest AS m SET last_polled_at = v.at, last_polled_version = v.version
        FROM unnest(${entries.map((e) => e.clientId)}::uuid[], ${entries.map((e) => e.at)}::timestamptz[],
                    ${entries.map((e) => e.version)}::bigint[]) AS v(client_id, at, version)
       WHERE m.client_id = v.client_id AND (m.last_polled_at IS NULL OR m.last_polled_at < v.at)`;
  }

  /**
   * D3 retention: keeps every digest referenced by one of a client's last `keepManifests` manifests or
   * by a manifest issued since `since`; deletes the other documents and bundles. Returns the counts.
   */
  async purge(
    keepManifests: number,
    since: Date,
    createdBefore: Date,
  ): Promise<{ documents: number; bundles: number; issues: number }> {
    // `createdBefore` protects renderings whose manifest is still being built
    const documents = await this.prisma.$executeRaw`
      DELETE FROM rendered_document r
       WHERE r.created_at < ${createdBefore} AND NOT EXISTS (
         SELECT 1 FROM manifest_issue i
          WHERE i.client_id = r.client_id AND r.digest = ANY(i.digests)
            AND (i.issued_at >= ${since}
                 OR i.version > (SELECT coalesce(max(version), 0) - ${keepManifests} FROM manifest_issue j WHERE j.client_id = i.client_id)))`;
    const bundles = await this.prisma.$executeRaw`
      DELETE FROM bundle b
       WHERE b.created_at < ${createdBefore} AND NOT EXISTS (
         SELECT 1 FROM manifest_issue i
          WHERE i.client_id = b.client_id AND b.digest = ANY(i.digests)
            AND (i.issued_at >= ${since}
                 OR i.version > (SELECT coalesce(max(version), 0) - ${keepManifests} FROM manifest_issue j WHERE j.client_id = i.client_id)))`;
    const issues = await this.prisma.$executeRaw`
      DELETE FROM manifest_issue i
       WHERE i.issued_at < ${since}
         AND i.version <= (SELECT coalesce(max(version), 0) - ${keepManifests} FROM manifest_issue j WHERE j.client_id = i.client_id)`;
    return { documents, bundles, issues };
  }

  /** The highest manifest version ever issued (restore safety floor). */
  async highestVersion(): Promise<bigint> {
    const rows = await this.prisma.$queryRaw<
      { max: bigint | null }[]
    >`SELECT max(version) AS max FROM manifest_issue`;
    return rows[0]?.max ?? 0n;
  }
}
