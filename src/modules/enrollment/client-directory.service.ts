import { createPublicKey, X509Certificate } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { RedisService } from '../../infra/redis/redis.module.js';
import { bounded, REDIS_CALL_TIMEOUT_MS } from '../../common/bounded.js';
import type { ClientProfileName, ClientRecord } from './auth/authenticated-client.js';
import { ClientRepository, type ClientRow } from './client.repository.js';

/** Without a live subscription, cached entries live this long (invalidations may be missed). */
const DEGRADED_TTL_MS = 1_000;
const MAX_ENTRIES = 200_000;
const TOUCH_FLUSH_MS = 5_000;

interface Entry {
  record: ClientRecord | null;
  /** Epoch ms after which the entry must be reloaded (Infinity while invalidations flow). */
  expiresAt: number;
}

export function toClientRecord(row: ClientRow): ClientRecord {
  let publicKey = null;
  if (row.certificatePem) {
    try {
      publicKey = createPublicKey(
        new X509Certificate(row.certificatePem).publicKey.export({ type: 'spki', format: 'pem' }),
      );
    } catch {
      publicKey = null;
    }
  }
  return {
    id: row.id,
    profile: row.profile,
    externalId: row.externalId,
    state: row.state,
    keyId: row.keyId,
    publicKey,
  };
}

/**
 * The accepted-client policy as the request path sees it: an in-process cache of clients, so that
 * authenticating a device makes no Postgres query once its record is loaded. Every change is
 * published on Redis (`<prefix>:enrollment:client-changed`) and every instance drops the entry within
 * milliseconds. While the subscription is down, entries expire after 1 s, and the whole cache is
 * dropped when it comes back (messages may have been missed). Also batches "last seen" writes.
 */
@Injectable()
export class ClientDirectory implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ClientDirectory.name);
  private readonly cache = new Map<string, Entry>();
  private readonly touches = new Map<string, { at: Date; address: string | null }>();
  private subscriber?: Redis;
  private subscribed = false;
  private flushTimer?: NodeJS.Timeout;

  private readonly channel: string;

  constructor(
    private readonly clients: ClientRepository,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.channel = `${config.queue.prefix}:enrollment:client-changed`;
  }

  onModuleInit(): void {
    const subscriber = this.redis.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => {
          this.cache.clear();
          this.subscribed = true;
        },
        () => undefined,
      );
    });
    subscriber.on('close', () => {
      this.subscribed = false;
    });
    subscriber.on('message', (_channel: string, key: string) => {
      this.cache.delete(key);
    });
    this.subscriber = subscriber;
    this.flushTimer = setInterval(() => void this.flushTouches(), TOUCH_FLUSH_MS);
    this.flushTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.flushTimer);
    await this.flushTouches();
    this.subscriber?.disconnect();
  }

  async find(profile: ClientProfileName, externalId: string): Promise<ClientRecord | null> {
    const key = `${profile}:${externalId}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > Date.now()) return hit.record;
    const row = await this.clients.findByExternalId(profile, externalId);
    const record = row ? toClientRecord(row) : null;
    if (this.cache.size >= MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { record, expiresAt: this.subscribed ? Infinity : Date.now() + DEGRADED_TTL_MS });
    return record;
  }

  /** Drops a client from every instance's cache (call after any change of its record). */
  async invalidate(profile: ClientProfileName, externalId: string): Promise<void> {
    const key = `${profile}:${externalId}`;
    this.cache.delete(key);
    try {
      await bounded(this.redis.client.publish(this.channel, key), REDIS_CALL_TIMEOUT_MS, 'Redis');
    } catch (error) {
      this.logger.warn({
        msg: 'could not publish a client change; other instances catch up within 1 s of reconnecting',
        key,
        error: String(error),
      });
    }
  }

  /** Notes that a client was seen (written in batches, off the request path). */
  touch(clientId: string, address: string | undefined): void {
    this.touches.set(clientId, { at: new Date(), address: address ?? null });
  }

  async flushTouches(): Promise<void> {
    if (this.touches.size === 0) return;
    const entries = [...this.touches].map(([id, t]) => ({ id, ...t }));
    this.touches.clear();
    try {
      await this.clients.touch(entries);
    } catch (error) {
      this.logger.warn({
        msg: 'could not record last-seen times',
        clients: entries.length,
        error: String(error),
      });
    }
  }
}
