import type { X509Certificate } from 'node:crypto';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { EventLogService } from '../../infra/events/event-log.service.js';
import { MetricsService } from '../../infra/metrics/metrics.service.js';
import {
  type EnrollmentObservation,
  EnrollmentRequestRepository,
  MAX_DEVICE_IDS,
} from './enrollment-request.repository.js';

/** Distinct certificates buffered between two flushes at most; further ones wait for the next flush. */
export const MAX_BUFFERED = 10_000;
const MAX_DEVICE_ID_LENGTH = 255;
const MAX_EVENTS = 100;

export interface Sighting {
  clientId: string;
  spiffeId: string;
  leaf: X509Certificate;
  /** The device id the request tried to report (capabilities path, status body), when it named one. */
  deviceId?: string;
  address?: string;
  /** WFM_ENROLLMENT_AUTO_ACCEPT accepted the client: record the request as approved by this. */
  approvedBy?: string;
}

/**
 * Records rc.3 enrollment requests off the request path (issue 17 item 4): `note` only updates an
 * in-memory entry per certificate — no I/O, O(1) — and a timer writes all entries every
 * WFM_ENROLLMENT_REQUESTS_FLUSH_MS (1 s) in one statement (EnrollmentRequestRepository.record). So
 * 10,000 refused requests from one certificate cost 10,000 map updates and one upsert a second.
 * The buffer holds at most MAX_BUFFERED certificates; sightings of others are dropped (counted)
 * until the next flush. A flush that fails puts its entries back (within the same bound).
 */
@Injectable()
export class EnrollmentRequestRecorder implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EnrollmentRequestRecorder.name);
  private buffer = new Map<string, EnrollmentObservation>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly sightings: Counter;
  private readonly dropped: Counter;
  private readonly flushes: Counter<'result'>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: EnrollmentRequestRepository,
    private readonly events: EventLogService,
    metrics: MetricsService,
  ) {
    const registers = [metrics.registry];
    this.sightings = new Counter({
      name: 'wfm_enrollment_request_sightings_total',
      help: 'Refused rc.3 requests with a valid SVID of an unaccepted client id (before coalescing)',
      registers,
    });
    this.dropped = new Counter({
      name: 'wfm_enrollment_request_sightings_dropped_total',
      help: 'Sightings not recorded because the in-memory buffer was full',
      registers,
    });
    this.flushes = new Counter({
      name: 'wfm_enrollment_request_flushes_total',
      help: 'Writes of the coalesced enrollment requests (one statement each), by result',
      labelNames: ['result'],
      registers,
    });
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.enrollment.flushMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /** Notes one refused (or auto-accepted) request. Synchronous and allocation-light: the hot path. */
  note(sighting: Sighting): void {
    this.sightings.inc();
    const key = sighting.leaf.fingerprint256;
    const now = new Date();
    let entry = this.buffer.get(key);
    if (!entry) {
      if (this.buffer.size >= MAX_BUFFERED) {
        this.dropped.inc();
        return;
      }
      entry = {
        clientId: sighting.clientId,
        spiffeId: sighting.spiffeId,
        fingerprint: key.replace(/:/g, '').toLowerCase(),
        notBefore: new Date(sighting.leaf.validFrom),
        notAfter: new Date(sighting.leaf.validTo),
        firstSeenAt: now,
        lastSeenAt: now,
        count: 0,
        deviceIds: [],
        address: null,
      };
      this.buffer.set(key, entry);
    }
    entry.count += 1;
    entry.lastSeenAt = now;
    if (sighting.address) entry.address = sighting.address;
    if (sighting.approvedBy) entry.approvedBy = sighting.approvedBy;
    const deviceId = sighting.deviceId;
    if (
      deviceId !== undefined &&
      deviceId.length > 0 &&
      deviceId.length <= MAX_DEVICE_ID_LENGTH &&
      entry.deviceIds.length < MAX_DEVICE_IDS &&
      !entry.deviceIds.includes(deviceId)
    ) {
      entry.deviceIds.push(deviceId);
    }
  }

  /** Writes what was noted since the last flush (one statement); concurrent calls share one write. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.buffer.size === 0) return Promise.resolve();
    const batch = this.buffer;
    this.buffer = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(batch: Map<string, EnrollmentObservation>): Promise<void> {
    const { requestsMax, requestsPerClient } = this.config.enrollment;
    let recorded;
    try {
      recorded = await this.requests.record([...batch.values()], {
        maxPending: requestsMax,
        perClient: requestsPerClient,
      });
      this.flushes.inc({ result: 'ok' });
    } catch (error) {
      this.flushes.inc({ result: 'failed' });
      this.logger.warn({
        msg: 'could not record enrollment requests; retrying with the next flush',
        certificates: batch.size,
        error: String(error),
      });
      this.putBack(batch);
      return;
    }
    const byFingerprint = new Map([...batch.values()].map((o) => [o.fingerprint, o]));
    // new requests are announced on the operator event stream (at most MAX_EVENTS per flush)
    for (const row of recorded.filter((r) => r.inserted).slice(0, MAX_EVENTS)) {
      const observation = byFingerprint.get(row.fingerprint);
      await this.events
        .publish({
          type: 'enrollment.requested',
          clientId: row.clientId,
          data: {
            requestId: row.id,
            fingerprint: row.fingerprint,
            state: observation?.approvedBy ? 'approved' : 'pending',
          },
        })
        .catch(() => undefined);
    }
  }

  private putBack(batch: Map<string, EnrollmentObservation>): void {
    for (const [key, old] of batch) {
      const now = this.buffer.get(key);
      if (!now) {
        if (this.buffer.size < MAX_BUFFERED) this.buffer.set(key, old);
        continue;
      }
      now.count += old.count;
      now.firstSeenAt = old.firstSeenAt;
      now.deviceIds = [...new Set([...old.deviceIds, ...now.deviceIds])].slice(0, MAX_DEVICE_IDS);
      now.approvedBy ??= old.approvedBy;
    }
  }
}
