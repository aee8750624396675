import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';

/** How long a cached document is believed: a purged digest (D3) is answered 404 at most this late. */
export const DOCUMENT_CACHE_TTL_MS = 10 * 60_000;

/** One digest-addressed document of one client, with the encodings computed so far. */
export interface CachedDocument {
  /** The deployment a YAML belongs to (`null` for a bundle). */
  deploymentId: string | null;
  bytes: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

/**
 * Digest-addressed bytes (deployment YAML, bundles) of each client, in memory: they never change, so
 * a hit needs no Postgres read. Bounded by bytes (`WFM_DOCUMENT_CACHE_MB`, 0 turns it off) and
 * least recently used first out; the compressed variants a client asked for count too. Keys are
 * (client, digest): one client's document is never answered to another.
 */
export class DocumentCache {
  private readonly lru: LRUCache<string, CachedDocument> | undefined;

  constructor(maxBytes: number) {
    this.lru =
      maxBytes > 0
        ? new LRUCache<string, CachedDocument>({
            maxSize: maxBytes,
            sizeCalculation: sizeOf,
            ttl: DOCUMENT_CACHE_TTL_MS,
          })
        : undefined;
  }

  get(clientId: string, digest: string): CachedDocument | undefined {
    return this.lru?.get(`${clientId}|${digest}`);
  }

  set(clientId: string, digest: string, doc: CachedDocument): void {
    if (!this.lru || sizeOf(doc) > this.lru.maxSize) return;
    this.lru.set(`${clientId}|${digest}`, doc);
  }

  /**
   * The body to send for an encoding, compressed once per cached document: the entry is stored again
   * with the variant so that its size is counted.
   */
  encoded(
    clientId: string,
    digest: string,
    doc: CachedDocument,
    encoding: 'br' | 'gzip' | undefined,
  ): Buffer {
    if (encoding === undefined) return doc.bytes;
    const present = doc[encoding];
    if (present) return present;
    const body =
      encoding === 'br'
        ? brotliCompressSync(doc.bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })
        : gzipSync(doc.bytes);
    this.set(clientId, digest, { ...doc, [encoding]: body });
    return body;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.lru?.size ?? 0, bytes: this.lru?.calculatedSize ?? 0 };
  }
}

function sizeOf(doc: CachedDocument): number {
  // the key and the object around the buffers: a few hundred bytes, counted so tiny documents add up
  return 256 + doc.bytes.length + (doc.br?.length ?? 0) + (doc.gzip?.length ?? 0);
}
