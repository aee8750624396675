import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { sha256Digest } from '../../../common/digest.js';
import { ServiceUnavailableError } from '../../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../../config/config.js';
import { RedisService } from '../../../infra/redis/redis.module.js';
import {
  BundleNotFoundError,
  DeploymentDocumentNotFoundError,
  NotAcceptableError,
} from './manifest.errors.js';
import { acceptsMediaType, ifNoneMatchMatches } from './http-conditions.js';
import { type CachedDocument, DocumentCache } from './document-cache.js';
import { ManifestCache } from './manifest-cache.js';
import type { Prisma } from '../../../generated/prisma/client.js';
import { EventLogService, type NewOperatorEvent } from '../../../infra/events/event-log.service.js';
import {
  LISTED_TARGETS,
  type ListedEntry,
  type ListedMark,
  type ListedTargets,
} from './listed-targets.port.js';
import { type ClientManifestRow, ManifestRepository } from './manifest.repository.js';
import { buildBundle } from './bundle.js';
import { buildStateManifest } from './state-manifest.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.margo.manifest.v1+json';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.margo.bundle.v1+tar+gzip';
const DIGEST = /^sha256:[0-9a-f]{64}$/;
const POLL_FLUSH_MS = 5_000;

export type ManifestAnswer =
  | { status: 304; etag: string; version: bigint }
  | { status: 200; etag: string; version: bigint; body: Buffer };

/** Digest-addressed bytes to answer (a YAML or a bundle), with its encodings computed on demand, once. */
export interface DigestDocument {
  digest: string;
  bytes: Buffer;
  encoded(encoding: 'br' | 'gzip' | undefined): Buffer;
}

export interface ClientScope {
  id: string;
  externalId: string;
  profile: 'rc3' | 'legacy';
}

export function urlPrefix(client: ClientScope): string {
  return client.profile === 'legacy' ? `/api/v1/clients/${client.externalId}` : '/api/v1';
}

type ManifestEntry = ListedEntry;
export type IssuedRow = Omit<ClientManifestRow, 'issuedAt' | 'lastPolledAt' | 'lastPolledVersion'>;

/** What a manifest lists, as one comparable string: `id@digest,…` in entry order. */
function contentKeyOf(entries: ManifestEntry[]): string {
  return entries.map((e) => `${e.id}@${e.digest}`).join(',');
}

/** The operator events of issued manifests (`manifest.issued`, one per manifest). */
export function issuedEvents(rows: IssuedRow[]): NewOperatorEvent[] {
  return rows.map((r) => ({
    type: 'manifest.issued',
    clientId: r.clientExternalId,
    data: { manifestVersion: r.version.toString(), etag: r.etag },
  }));
}

/** An entry's stored YAML; a listed digest without its rendering is a broken invariant, not a skip. */
function documentOf(docs: Map<string, Buffer>, clientId: string, entry: ManifestEntry): Buffer {
  const bytes = docs.get(`${clientId}|${entry.digest}`);
  if (!bytes) throw new Error(`the rendering ${entry.digest} of ${entry.id} is missing`);
  return bytes;
}

/** The marks of the targets a new manifest lists (see ListedTargets.markListed). */
function marksOf(
  clientId: string,
  entries: ManifestEntry[],
  version: bigint,
  changedIds: string[],
): ListedMark[] {
  const changed = new Set(changedIds);
  return entries.map((e) => ({ clientId, id: e.id, version, changed: changed.has(e.id) }));
}

/**
 * The next manifest of a client (pure): its row, its bundle, the digests it references and the
 * entries whose digest it lists for the first time. `documentOf` returns an entry's YAML bytes.
 */
function composeManifest<E extends ManifestEntry>(
  client: ClientScope,
  entries: E[],
  documentOf: (entry: E) => Buffer,
  current: { version: bigint; contentKey: string } | undefined,
  minimumVersion: bigint,
): {
  row: IssuedRow;
  bundle: { digest: string; bytes: Buffer } | null;
  digests: string[];
  changedIds: string[];
} {
  let bundle: { digest: string; bytes: Buffer } | null = null;
  if (entries.length > 0) {
    const bytes = buildBundle(entries.map((e) => ({ name: `${e.id}.yaml`, bytes: documentOf(e) })));
    bundle = { digest: sha256Digest(bytes), bytes };
  }
  const next = (current?.version ?? 0n) + 1n;
  const version = next > minimumVersion ? next : minimumVersion;
  const body = buildStateManifest({
    manifestVersion: version,
    deployments: entries.map((e) => ({ deploymentId: e.id, digest: e.digest, sizeBytes: e.sizeBytes })),
    bundle: bundle && { digest: bundle.digest, sizeBytes: bundle.bytes.length },
    urlPrefix: urlPrefix(client),
  });
  const before = new Set((current?.contentKey ?? '').split(','));
  return {
    row: {
      clientId: client.id,
      clientExternalId: client.externalId,
      clientProfile: client.profile,
      version,
      etag: `"${sha256Digest(body)}"`,
      body: new Uint8Array(body),
      contentKey: contentKeyOf(entries),
    },
    bundle,
    digests: [...entries.map((e) => e.digest), ...(bundle ? [bundle.digest] : [])],
    changedIds: entries.filter((e) => !before.has(`${e.id}@${e.digest}`)).map((e) => e.id),
  };
}

/**
 * The state manifest per client (spec §1.1, §2.1–2.2; D7–D11): RFC 8785 bytes with a strictly
 * increasing manifestVersion, issued only when the content changes; the YAML documents and bundles
 * it references, served as stored. The poll path answers from the Redis cache (one round trip for a
 * matching conditional poll) and falls back to Postgres on a miss.
 */
@Injectable()
export class ManifestService implements OnModuleDestroy {
  private readonly logger = new Logger(ManifestService.name);
  private readonly cache: ManifestCache;
  private readonly documents: DocumentCache;
  private readonly polls = new Map<string, { at: Date; version: bigint }>();
  private readonly pollTimer: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    redis: RedisService,
    private readonly manifests: ManifestRepository,
    @Inject(LISTED_TARGETS) private readonly listed: ListedTargets,
    private readonly events: EventLogService,
  ) {
    this.cache = new ManifestCache(redis.client, config.queue.prefix);
    this.documents = new DocumentCache(config.manifests.documentCacheBytes);
    this.pollTimer = setInterval(() => void this.flushPolls(), POLL_FLUSH_MS);
    this.pollTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.pollTimer);
    await this.flushPolls();
  }

  /** GET …/deployments: 304 when If-None-Match matches, else the exact manifest bytes. */
  async poll(
    client: ClientScope,
    accept: string | undefined,
    ifNoneMatch: string | undefined,
  ): Promise<ManifestAnswer> {
    if (!acceptsMediaType(accept, MANIFEST_MEDIA_TYPE)) throw new NotAcceptableError(accept ?? '');
    const head = await this.cache.head(client.id);
    if (head && ifNoneMatchMatches(ifNoneMatch, head.etag)) {
      this.notePoll(client.id, head.version);
      return { status: 304, etag: head.etag, version: head.version };
    }
    if (head) {
      const body = await this.cache.body(client.id);
      if (body && sha256Digest(body) === head.etag.slice(1, -1)) {
        this.notePoll(client.id, head.version);
        return { status: 200, etag: head.etag, version: head.version, body };
      }
    }
    const row = await this.current(client);
    const etag = row.etag;
    void this.cache.put(client.id, row.version, etag, Buffer.from(row.body));
    this.notePoll(client.id, row.version);
    if (ifNoneMatchMatches(ifNoneMatch, etag)) return { status: 304, etag, version: row.version };
    return { status: 200, etag, version: row.version, body: Buffer.from(row.body) };
  }

  /** The client's current manifest version: from the poll cache, else Postgres (0 before the first). */
  async currentVersion(clientId: string): Promise<bigint> {
    const head = await this.cache.head(clientId);
    if (head) return head.version;
    return (await this.manifests.manifest(clientId))?.version ?? 0n;
  }

  /** For the status module: current version and last poll per client. */
  async pollFacts(clientIds: string[]): Promise<Map<string, { version: bigint; lastPolledAt: Date | null }>> {
    const rows = await this.manifests.manifestsOf(clientIds);
    return new Map(rows.map((r) => [r.clientId, { version: r.version, lastPolledAt: r.lastPolledAt }]));
  }

  /**
   * The stored YAML of one of the caller's deployments (404 `#deployment-not-found` otherwise, D11),
   * from the in-memory document cache when it is there.
   */
  async document(client: ClientScope, deploymentId: string, digest: string): Promise<DigestDocument> {
    if (!DIGEST.test(digest)) throw new DeploymentDocumentNotFoundError(deploymentId, digest);
    let doc = this.documents.get(client.id, digest);
    if (!doc) {
      const row = await this.manifests
        .document(client.id, digest)
        .catch((error: unknown) => this.unavailable(error));
      if (row) {
        doc = { deploymentId: row.deploymentId, bytes: row.bytes };
        this.documents.set(client.id, digest, doc);
      }
    }
    if (!doc || doc.deploymentId !== deploymentId) {
      throw new DeploymentDocumentNotFoundError(deploymentId, digest);
    }
    return this.digestDocument(client.id, digest, doc);
  }

  /** The caller's bundle by digest (404 otherwise), from the in-memory document cache when it is there. */
  async bundle(client: ClientScope, digest: string): Promise<DigestDocument> {
    if (!DIGEST.test(digest)) throw new BundleNotFoundError(digest);
    let doc = this.documents.get(client.id, digest);
    if (!doc) {
      const bytes = await this.manifests
        .bundle(client.id, digest)
        .catch((error: unknown) => this.unavailable(error));
      if (bytes) {
        doc = { deploymentId: null, bytes };
        this.documents.set(client.id, digest, doc);
      }
    }
    if (!doc || doc.deploymentId !== null) throw new BundleNotFoundError(digest);
    return this.digestDocument(client.id, digest, doc);
  }

  private digestDocument(clientId: string, digest: string, doc: CachedDocument): DigestDocument {
    return {
      digest,
      bytes: doc.bytes,
      encoded: (encoding) => this.documents.encoded(clientId, digest, doc, encoding),
    };
  }

  /**
   * Re-derives a client's manifest from its placed targets. Issues a new version only when the set of
   * (deploymentId, digest) changed: a recomputation with no effect keeps the version and the ETag.
   */
  async rebuild(client: ClientScope, minimumVersion = 0n): Promise<{ changed: boolean; version: bigint }> {
    const result = await this.manifests.transaction(async (tx) => {
      await this.manifests.lockClients(tx, [client.id]);
      return this.rebuildLocked(tx, client, minimumVersion);
    });
    if (result.issued) await this.announce([result.issued]);
    return { changed: result.issued !== null, version: result.version };
  }

  /**
   * `rebuild` inside the caller's transaction, which holds the client's lock (`lockClients`); the
   * caller announces the issued row (`announce`) after its commit.
   */
  async rebuildLocked(
    tx: Prisma.TransactionClient,
    client: ClientScope,
    minimumVersion = 0n,
  ): Promise<{ issued: IssuedRow | null; version: bigint }> {
    const [current] = await this.manifests.manifestsIn(tx, [client.id]);
    const entries = (await this.listed.entriesOf([client.id], tx)).get(client.id) ?? [];
    if (current && current.contentKey === contentKeyOf(entries) && current.version >= minimumVersion) {
      return { issued: null, version: current.version };
    }
    const docs = await this.documentsOf(tx, [{ clientId: client.id, entries }]);
    const next = composeManifest(
      client,
      entries,
      (e) => documentOf(docs, client.id, e),
      current,
      minimumVersion,
    );
    await this.listed.markListed(
      tx,
      [client.id],
      marksOf(client.id, entries, next.row.version, next.changedIds),
    );
    await this.manifests.replaceMany(
      tx,
      [{ ...next.row, digests: next.digests }],
      next.bundle ? [{ clientId: client.id, ...next.bundle }] : [],
    );
    return { issued: next.row, version: next.row.version };
  }

  /**
   * `rebuild` for many clients in one transaction with bulk reads and writes (fleet roll-outs touch
   * thousands of clients at once). Same rules: a new version only where the content changed.
   */
  async rebuildMany(clients: ClientScope[]): Promise<number> {
    if (clients.length === 0) return 0;
    const ids = clients.map((c) => c.id);
    const issued = await this.manifests.transaction(async (tx) => {
      await this.manifests.lockClients(tx, ids);
      const currents = new Map((await this.manifests.manifestsIn(tx, ids)).map((m) => [m.clientId, m]));
      const entriesOf = await this.listed.entriesOf(ids, tx);
      const changedClients = clients.filter(
        (c) => currents.get(c.id)?.contentKey !== contentKeyOf(entriesOf.get(c.id) ?? []),
      );
      const docs = await this.documentsOf(
        tx,
        changedClients.map((c) => ({ clientId: c.id, entries: entriesOf.get(c.id) ?? [] })),
      );
      const rows: Parameters<ManifestRepository['replaceMany']>[1] = [];
      const bundles: { clientId: string; digest: string; bytes: Buffer }[] = [];
      const marks: ListedMark[] = [];
      for (const client of changedClients) {
        const entries = entriesOf.get(client.id) ?? [];
        const next = composeManifest(
          client,
          entries,
          (e) => documentOf(docs, client.id, e),
          currents.get(client.id),
          0n,
        );
        rows.push({ ...next.row, digests: next.digests });
        if (next.bundle) bundles.push({ clientId: client.id, ...next.bundle });
        marks.push(...marksOf(client.id, entries, next.row.version, next.changedIds));
      }
      if (rows.length > 0) {
        await this.listed.markListed(
          tx,
          rows.map((r) => r.clientId),
          marks,
        );
      }
      await this.manifests.replaceMany(tx, rows, bundles);
      return rows;
    });
    await this.announce(issued);
    return issued.length;
  }

  /**
   * After the commit: the poll cache gets the new manifests (one Redis pipeline), operators one
   * event per manifest, in one insert with the caller's `alsoPublish` events.
   */
  async announce(rows: IssuedRow[], alsoPublish: NewOperatorEvent[] = []): Promise<void> {
    await this.cacheIssued(rows);
    await this.events
      .publishMany([...alsoPublish, ...issuedEvents(rows)])
      .catch((error: unknown) =>
        this.logger.warn({ msg: 'could not publish manifest events', error: String(error) }),
      );
  }

  /** After the commit of issued manifests whose events the caller wrote (`issuedEvents`): the poll cache. */
  async cacheIssued(rows: IssuedRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.cache.putMany(
      rows.map((r) => ({
        clientId: r.clientId,
        version: r.version,
        etag: r.etag,
        body: Buffer.from(r.body),
      })),
    );
    for (const r of rows) {
      this.logger.debug({
        msg: 'manifest issued',
        clientId: r.clientExternalId,
        version: r.version.toString(),
      });
    }
  }

  /**
   * Stores rendered ApplicationDeployment YAML (idempotent per client and digest), inside the caller's
   * transaction when given: the deployment side renders, the manifest side keeps the bytes it serves.
   */
  saveDocuments(
    docs: { clientId: string; digest: string; deploymentId: string; bytes: Buffer }[],
    tx?: Prisma.TransactionClient,
  ): Promise<void> {
    return this.manifests.saveDocuments(docs, tx);
  }

  /** Serialises manifest rebuilds of these clients for the rest of the caller's transaction. */
  lockClients(tx: Prisma.TransactionClient, clientIds: string[]): Promise<void> {
    return this.manifests.lockClients(tx, clientIds);
  }

  /** The stored YAML of these clients' entries, keyed `clientId|digest` (one query). */
  private async documentsOf(
    tx: Prisma.TransactionClient,
    lists: { clientId: string; entries: ManifestEntry[] }[],
  ): Promise<Map<string, Buffer>> {
    const pairs = lists.flatMap((l) => l.entries.map((e) => ({ clientId: l.clientId, digest: e.digest })));
    if (pairs.length === 0) return new Map();
    const rows = await this.manifests.documentsOfMany(tx, pairs);
    return new Map(rows.map((d) => [`${d.clientId}|${d.digest}`, Buffer.from(d.bytes)]));
  }

  /** The current manifest, creating version 1 (no deployments, `bundle: null`) for a new client. */
  private async current(client: ClientScope): Promise<ClientManifestRow> {
    try {
      const row = await this.manifests.manifest(client.id);
      if (row) return row;
      const body = buildStateManifest({
        manifestVersion: 1n,
        deployments: [],
        bundle: null,
        urlPrefix: urlPrefix(client),
      });
      return await this.manifests.insertFirst(
        {
          clientId: client.id,
          clientExternalId: client.externalId,
          clientProfile: client.profile,
          version: 1n,
          etag: `"${sha256Digest(body)}"`,
          body: new Uint8Array(body),
          contentKey: '',
        },
        [],
      );
    } catch (error) {
      return this.unavailable(error);
    }
  }

  private unavailable(error: unknown): never {
    this.logger.warn({ msg: 'manifest store unavailable', error: String(error) });
    throw new ServiceUnavailableError('The manifest store is temporarily unavailable; retry later', 5);
  }

  private notePoll(clientId: string, version: bigint): void {
    this.polls.set(clientId, { at: new Date(), version });
  }

  async flushPolls(): Promise<void> {
    if (this.polls.size === 0) return;
    const entries = [...this.polls].map(([clientId, p]) => ({ clientId, ...p }));
    this.polls.clear();
    await this.manifests.recordPolls(entries).catch((error: unknown) => {
      this.logger.warn({ msg: 'could not record polls', clients: entries.length, error: String(error) });
    });
  }

  /**
   * D3 purge, run by the scheduler: digests referenced by one of a client's last `keepManifests`
   * manifests or by one issued in the last `keepDays` stay; so does anything rendered in the last hour
   * (its manifest may still be on its way). `now` is a parameter so tests can drive the clock.
   */
  purge(keepManifests: number, keepDays: number, now = new Date()) {
    return this.manifests.purge(
      keepManifests,
      new Date(now.getTime() - keepDays * 86_400_000),
      new Date(now.getTime() - 3_600_000),
    );
  }
}
