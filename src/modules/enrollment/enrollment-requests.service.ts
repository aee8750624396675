import { Inject, Injectable, Logger } from '@nestjs/common';
import { compileIdPattern } from '../../common/id-pattern.js';
import { decodeKey, type Page, pageOf } from '../../common/http/page.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import { AuditService } from '../../infra/audit/audit.service.js';
import { EventLogService } from '../../infra/events/event-log.service.js';
import type { ClientRecord, OperatorPrincipal } from './auth/authenticated-client.js';
import { ClientDirectory } from './client-directory.service.js';
import { ClientsService } from './clients.service.js';
import type { EnrollmentRequestDto, EnrollmentRequestListQueryDto } from './dto/enrollment-request.dto.js';
import { EnrollmentRequestConflictError, EnrollmentRequestNotFoundError } from './enrollment.errors.js';
import { EnrollmentRequestRepository, type EnrollmentRequestRow } from './enrollment-request.repository.js';

/** Who a WFM_ENROLLMENT_AUTO_ACCEPT acceptance is recorded as. */
export const AUTO_ACCEPT = 'auto-accept';

export function toEnrollmentRequestDto(row: EnrollmentRequestRow): EnrollmentRequestDto {
  return {
    id: row.id,
    clientId: row.clientId,
    spiffeId: row.spiffeId,
    certificateFingerprint: row.fingerprint,
    notBefore: row.notBefore.toISOString(),
    notAfter: row.notAfter.toISOString(),
    firstSeenAt: row.firstSeenAt.toISOString(),
    lastSeenAt: row.lastSeenAt.toISOString(),
    requestCount: Number(row.requestCount),
    deviceIds: row.deviceIds,
    lastRemoteAddress: row.lastRemoteAddress,
    state: row.state,
    decidedBy: row.decidedBy,
    decidedAt: row.decidedAt ? row.decidedAt.toISOString() : null,
  };
}

/**
 * rc.3 enrollment requests (issue 17 item 4): operators list them and approve (the client id joins
 * the accepted-client policy; its next request succeeds) or reject them; client ids matching
 * WFM_ENROLLMENT_AUTO_ACCEPT are accepted at their first request. Recording is the recorder's job.
 */
@Injectable()
export class EnrollmentRequestsService {
  private readonly logger = new Logger(EnrollmentRequestsService.name);
  private readonly autoAcceptTest?: (clientId: string) => boolean;
  private readonly accepting = new Map<string, Promise<ClientRecord | null>>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly requests: EnrollmentRequestRepository,
    private readonly clients: ClientsService,
    private readonly directory: ClientDirectory,
    private readonly events: EventLogService,
    private readonly audit: AuditService,
  ) {
    if (config.enrollment.autoAccept !== undefined) {
      const pattern = compileIdPattern(config.enrollment.autoAccept);
      if (pattern.ok) this.autoAcceptTest = pattern.test;
    }
  }

  /** Whether WFM_ENROLLMENT_AUTO_ACCEPT names this client id. */
  autoAccepts(clientId: string): boolean {
    return this.autoAcceptTest?.(clientId) ?? false;
  }

  /**
   * Accepts an auto-accepted client id (once: concurrent first requests share one write) and returns
   * its record as the request path needs it.
   */
  autoAccept(clientId: string): Promise<ClientRecord | null> {
    let running = this.accepting.get(clientId);
    if (!running) {
      running = (async () => {
        await this.clients.accept(clientId);
        this.logger.log({ msg: 'rc.3 client accepted automatically (WFM_ENROLLMENT_AUTO_ACCEPT)', clientId });
        return this.directory.find('rc3', clientId);
      })().finally(() => this.accepting.delete(clientId));
      this.accepting.set(clientId, running);
    }
    return running;
  }

  async list(query: EnrollmentRequestListQueryDto): Promise<Page<EnrollmentRequestDto>> {
    const after = query.after ? decodeKey(query.after, ['date', 'uuid'] as const) : undefined;
    const rows = await this.requests.list({
      state: query.state,
      clientId: query.clientId,
      after,
      take: query.limit + 1,
    });
    return pageOf(rows, query.limit, (r) => [r.firstSeenAt, r.id], toEnrollmentRequestDto);
  }

  async get(id: string): Promise<EnrollmentRequestDto> {
    return toEnrollmentRequestDto(await this.find(id));
  }

  /** Accepts the request's client id; this and its other pending requests become approved. */
  async approve(id: string, by: OperatorPrincipal): Promise<EnrollmentRequestDto> {
    const row = await this.find(id);
    if (row.state === 'approved') return toEnrollmentRequestDto(row);
    await this.clients.accept(row.clientId);
    const decided = await this.decide(row, 'approved', by);
    this.logger.log({ msg: 'enrollment request approved', clientId: row.clientId, id, by: by.name });
    return toEnrollmentRequestDto(decided);
  }

  /** Rejects the request (and the client id's other pending ones); its requests keep getting 403. */
  async reject(id: string, by: OperatorPrincipal): Promise<EnrollmentRequestDto> {
    const row = await this.find(id);
    if (row.state === 'rejected') return toEnrollmentRequestDto(row);
    if (row.state === 'approved') {
      throw new EnrollmentRequestConflictError(
        `Enrollment request ${id} is approved: client ${row.clientId} is accepted; retire it instead (DELETE /operator/v1/clients/${row.clientId})`,
      );
    }
    const decided = await this.decide(row, 'rejected', by);
    this.logger.log({ msg: 'enrollment request rejected', clientId: row.clientId, id, by: by.name });
    await this.events
      .publish({ type: 'enrollment.rejected', clientId: row.clientId, data: { requestId: id } })
      .catch(() => undefined);
    return toEnrollmentRequestDto(decided);
  }

  /** The decision and its audit entry, in one transaction. */
  private decide(
    row: EnrollmentRequestRow,
    state: 'approved' | 'rejected',
    by: OperatorPrincipal,
  ): Promise<EnrollmentRequestRow> {
    return this.requests.transaction(async (tx) => {
      const decided = await this.requests.decide(tx, row, state, by.name);
      await this.audit.record(tx, {
        action: state === 'approved' ? 'enrollment-request.approve' : 'enrollment-request.reject',
        resource: { type: 'enrollment-request', id: row.id },
        summary: {
          clientId: row.clientId,
          fingerprint: row.fingerprint,
          before: { state: row.state },
          after: { state },
        },
      });
      return decided;
    });
  }

  private async find(id: string): Promise<EnrollmentRequestRow> {
    const row = await this.requests.findById(id);
    if (!row) throw new EnrollmentRequestNotFoundError(id);
    return row;
  }
}
