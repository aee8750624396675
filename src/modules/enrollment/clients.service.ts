import { Inject, Injectable, Logger } from '@nestjs/common';
import { decodeKey, type Page, type PageQueryDto, pageOf } from '../../common/http/page.js';
import { SemanticError } from '../../common/problem/domain-error.js';
import { APP_CONFIG, type AppConfig } from '../../config/config.js';
import type { ClientProfileName } from './auth/authenticated-client.js';
import { ClientDirectory } from './client-directory.service.js';
import { AuditService } from '../../infra/audit/audit.service.js';
import { EventLogService } from '../../infra/events/event-log.service.js';
import {
  ClientRepository,
  type ClientRow,
  type ClientSettingsRow,
  type FleetSettingsRow,
} from './client.repository.js';
import type { ClientDto, ClientListQueryDto } from './dto/client.dto.js';
import type { PreauthorizedCertificateCreateDto, PreauthorizedCertificateDto } from './dto/operator.dto.js';
import type { ClientSettingsDto, ClientSettingsUpdateDto } from './dto/settings.dto.js';
import { ClientNotFoundError, ClientStateConflictError } from './enrollment.errors.js';
import { toClientDto, toClientSettingsDto, toPreauthorizedDto } from './enrollment.mapper.js';
import {
  certificateFingerprint,
  normaliseFingerprint,
  parseCertificateInput,
} from './identity/certificate-input.js';

const CLIENT_ID = /^[A-Za-z0-9._-]+$/;

/** The settings fields an audit summary shows (before/after). */
function settingsSummary(row: ClientSettingsRow | FleetSettingsRow | null): Record<string, unknown> | null {
  if (!row) return null;
  return {
    pollingIntervalSeconds: row.pollingIntervalSeconds,
    pollingPeriod: row.pollingPeriod,
    downtimeWindows: row.downtimeWindows,
  };
}

/** A principal's label scope (undefined: the whole fleet). */
type Scope = Record<string, string> | undefined;

export interface ClientRef {
  id: string;
  externalId: string;
  profile: ClientProfileName;
}

/** Operator control of who may connect: the accepted-client policy, legacy approvals, settings. */
@Injectable()
export class ClientsService {
  private readonly logger = new Logger(ClientsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clients: ClientRepository,
    private readonly directory: ClientDirectory,
    private readonly events: EventLogService,
    private readonly audit: AuditService,
  ) {}

  /** Adds an rc.3 wfm-client-id to the accepted-client policy (idempotent). */
  async accept(clientId: string): Promise<{ client: ClientDto; created: boolean }> {
    if (!CLIENT_ID.test(clientId) || clientId === '.' || clientId === '..' || clientId.length > 255) {
      throw new SemanticError('Invalid wfm-client-id', [
        { field: '/clientId', message: "letters, digits, '.', '-' and '_' only (a SPIFFE path segment)" },
      ]);
    }
    const { row, created } = await this.clients.transaction(async (tx) => {
      const result = await this.clients.upsertRc3(clientId, tx);
      await this.audit.record(tx, {
        action: 'client.accept',
        resource: { type: 'client', id: clientId },
        summary: {
          profile: 'rc3',
          created: result.created,
          before: result.previous ? { state: result.previous } : null,
          after: { state: 'active' },
        },
      });
      return result;
    });
    await this.directory.invalidate('rc3', clientId);
    this.logger.log({ msg: 'rc.3 client accepted', clientId, created });
    await this.publish('client.enrolled', clientId, { profile: 'rc3', state: 'active', created });
    return { client: this.dto(row), created };
  }

  /** Retires a client of either profile: its next request is refused with 403. */
  async retire(clientId: string, profile?: ClientProfileName, scope?: Scope): Promise<void> {
    const row = await this.resolve(clientId, profile, scope);
    await this.clients.transaction(async (tx) => {
      if (row.state !== 'retired') await this.clients.setState(row.id, 'retired', tx);
      await this.audit.record(tx, {
        action: 'client.retire',
        resource: { type: 'client', id: row.externalId },
        summary: { profile: row.profile, before: { state: row.state }, after: { state: 'retired' } },
      });
    });
    await this.directory.invalidate(row.profile, row.externalId);
    this.logger.log({ msg: 'client retired', clientId, profile: row.profile });
    await this.publish('client.retired', clientId, { profile: row.profile });
  }

  async approve(clientId: string, scope?: Scope): Promise<ClientDto> {
    return this.decide(clientId, 'active', ['pending', 'rejected'], scope);
  }

  async reject(clientId: string, scope?: Scope): Promise<ClientDto> {
    return this.decide(clientId, 'rejected', ['pending', 'active'], scope);
  }

  /** Clients in creation order, a page at a time; with a scope, those owning a device inside it. */
  async list(query: ClientListQueryDto, scope?: Scope): Promise<Page<ClientDto>> {
    const after = query.after ? decodeKey(query.after, ['date', 'uuid'] as const) : undefined;
    const rows = await this.clients.list({
      profile: query.profile,
      state: query.state,
      after,
      take: query.limit + 1,
      scope,
    });
    return pageOf(
      rows,
      query.limit,
      (r) => [r.createdAt, r.id],
      (r) => this.dto(r),
    );
  }

  async get(clientId: string, profile?: ClientProfileName, scope?: Scope): Promise<ClientDto> {
    return this.dto(await this.resolve(clientId, profile, scope));
  }

  async settings(clientId: string, profile?: ClientProfileName, scope?: Scope): Promise<ClientSettingsDto> {
    const row = await this.resolve(clientId, profile, scope);
    return toClientSettingsDto(await this.clients.findSettings(row.id), await this.clients.fleetSettings());
  }

  async updateSettings(
    clientId: string,
    patch: ClientSettingsUpdateDto,
    profile?: ClientProfileName,
    scope?: Scope,
  ): Promise<ClientSettingsDto> {
    const row = await this.resolve(clientId, profile, scope);
    const own = await this.clients.transaction(async (tx) => {
      const before = await this.clients.findSettings(row.id, tx);
      const after = await this.clients.upsertSettings(row.id, patch, tx);
      await this.audit.record(tx, {
        action: 'client-settings.update',
        resource: { type: 'client', id: row.externalId },
        summary: { profile: row.profile, before: settingsSummary(before), after: settingsSummary(after) },
      });
      return after;
    });
    return toClientSettingsDto(own, await this.clients.fleetSettings());
  }

  async fleetSettings(): Promise<ClientSettingsDto> {
    return toClientSettingsDto(null, await this.clients.fleetSettings());
  }

  async updateFleetSettings(patch: ClientSettingsUpdateDto): Promise<ClientSettingsDto> {
    if (patch.pollingIntervalSeconds === null) {
      throw new SemanticError('The fleet default polling interval cannot be null', [
        { field: '/pollingIntervalSeconds', message: 'must be a number of seconds' },
      ]);
    }
    const before = await this.clients.fleetSettings();
    const after = await this.clients.transaction(async (tx) => {
      const row = await this.clients.updateFleetSettings(patch, tx);
      await this.audit.record(tx, {
        action: 'fleet-settings.update',
        resource: { type: 'fleet-settings' },
        summary: { before: settingsSummary(before), after: settingsSummary(row) },
      });
      return row;
    });
    return toClientSettingsDto(null, after);
  }

  async preauthorize(input: PreauthorizedCertificateCreateDto): Promise<PreauthorizedCertificateDto> {
    let fingerprint = input.fingerprint ? normaliseFingerprint(input.fingerprint) : undefined;
    if (input.certificate !== undefined) {
      const cert = parseCertificateInput(input.certificate);
      if (!cert) {
        throw new SemanticError('Invalid certificate', [
          { field: '/certificate', message: 'is not an X.509 certificate' },
        ]);
      }
      fingerprint = certificateFingerprint(cert);
    }
    const row = await this.clients.transaction(async (tx) => {
      const before = await this.clients.findPreauthorized(fingerprint!, tx);
      const after = await this.clients.upsertPreauthorized(fingerprint!, input.note ?? null, tx);
      await this.audit.record(tx, {
        action: 'preauthorized-certificate.create',
        resource: { type: 'preauthorized-certificate', id: fingerprint! },
        summary: { before: before ? { note: before.note } : null, after: { note: after.note } },
      });
      return after;
    });
    return toPreauthorizedDto(row);
  }

  async listPreauthorized(query: PageQueryDto): Promise<Page<PreauthorizedCertificateDto>> {
    const after = query.after ? decodeKey(query.after, ['date', 'string'] as const) : undefined;
    const rows = await this.clients.listPreauthorized({ after, take: query.limit + 1 });
    return pageOf(rows, query.limit, (r) => [r.createdAt, r.fingerprint], toPreauthorizedDto);
  }

  async removePreauthorized(fingerprint: string): Promise<void> {
    const normalised = normaliseFingerprint(fingerprint);
    await this.clients.transaction(async (tx) => {
      const before = await this.clients.findPreauthorized(normalised, tx);
      if (!before || !(await this.clients.deletePreauthorized(normalised, tx))) {
        throw new ClientNotFoundError(`pre-authorized certificate ${fingerprint}`);
      }
      await this.audit.record(tx, {
        action: 'preauthorized-certificate.delete',
        resource: { type: 'preauthorized-certificate', id: normalised },
        summary: { before: { note: before.note, usedAt: before.usedAt } },
      });
    });
  }

  private async publish(type: string, clientId: string, data: Record<string, unknown>): Promise<void> {
    await this.events
      .publish({ type, clientId, data })
      .catch((error: unknown) =>
        this.logger.warn({ msg: 'could not publish a client event', error: String(error) }),
      );
  }

  /** For other modules: the client behind an operator-facing id (404 when unknown or outside `scope`). */
  async resolveRef(clientId: string, profile?: ClientProfileName, scope?: Scope): Promise<ClientRef> {
    const row = await this.resolve(clientId, profile, scope);
    return { id: row.id, externalId: row.externalId, profile: row.profile };
  }

  /** For other modules: the client behind an internal id. */
  async findRef(id: string): Promise<ClientRef | null> {
    const row = await this.clients.findById(id);
    return row ? { id: row.id, externalId: row.externalId, profile: row.profile } : null;
  }

  /** `findRef` for many clients in one query (unknown ids are absent from the map). */
  async findRefs(ids: string[]): Promise<Map<string, ClientRef>> {
    if (ids.length === 0) return new Map();
    const rows = await this.clients.refsOf(ids);
    return new Map(rows.map((r) => [r.id, { id: r.id, externalId: r.externalId, profile: r.profile }]));
  }

  /** For other modules: effective polling/downtime settings of clients (by internal id). */
  async effectiveSettings(ids: string[]): Promise<Map<string, ClientSettingsDto>> {
    const fleet = await this.clients.fleetSettings();
    const own = await this.clients.settingsOf(ids);
    return new Map(ids.map((id) => [id, toClientSettingsDto(own.get(id) ?? null, fleet)]));
  }

  private async decide(
    clientId: string,
    to: 'active' | 'rejected',
    from: string[],
    scope: Scope,
  ): Promise<ClientDto> {
    const row = await this.resolve(clientId, 'legacy', scope);
    if (row.state === to) return this.dto(row);
    if (!from.includes(row.state)) {
      throw new ClientStateConflictError(
        `Client ${clientId} is ${row.state}; it can be ${to === 'active' ? 'approved' : 'rejected'} only when ${from.join(' or ')}`,
      );
    }
    const updated = await this.clients.transaction(async (tx) => {
      const result = await this.clients.setState(row.id, to, tx);
      await this.audit.record(tx, {
        action: to === 'active' ? 'client.approve' : 'client.reject',
        resource: { type: 'client', id: row.externalId },
        summary: { profile: 'legacy', before: { state: row.state }, after: { state: to } },
      });
      return result;
    });
    await this.directory.invalidate('legacy', clientId);
    this.logger.log({ msg: `legacy client ${to === 'active' ? 'approved' : 'rejected'}`, clientId });
    await this.publish(to === 'active' ? 'client.enrolled' : 'client.retired', clientId, {
      profile: 'legacy',
      state: to,
    });
    return this.dto(updated);
  }

  /**
   * Finds a client by the id operators use; asks for `profile` when the id exists in both profiles.
   * With a scope, a client that owns no device inside it is not found (404, like an unknown one).
   */
  private async resolve(clientId: string, profile?: ClientProfileName, scope?: Scope): Promise<ClientRow> {
    const candidates = profile ? [profile] : (['rc3', 'legacy'] as const);
    const rows = (
      await Promise.all(candidates.map((p) => this.clients.findVisible(p, clientId, scope)))
    ).filter((r): r is ClientRow => r !== null);
    if (rows.length === 0) throw new ClientNotFoundError(clientId);
    if (rows.length > 1) {
      throw new ClientStateConflictError(
        `Client id ${clientId} exists in both profiles; add ?profile=rc3 or ?profile=legacy`,
      );
    }
    return rows[0];
  }

  private dto(row: ClientRow): ClientDto {
    return toClientDto(row, this.config.identity);
  }
}
