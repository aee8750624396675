import { X509Certificate } from 'node:crypto';
import type { AppConfig } from '../../config/config.js';
import type {
  ClientRow,
  ClientSettingsRow,
  FleetSettingsRow,
  PreauthorizedRow,
} from './client.repository.js';
import type { ClientDto } from './dto/client.dto.js';
import type { OperatorTokenDto, PreauthorizedCertificateDto } from './dto/operator.dto.js';
import type { ClientSettingsDto, DowntimeWindowDto, PollingPeriodDto } from './dto/settings.dto.js';
import type { OperatorTokenRow } from './operator-token.repository.js';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

function subjectOf(pem: string | null): string | undefined {
  if (!pem) return undefined;
  try {
    return new X509Certificate(pem).subject;
  } catch {
    return undefined;
  }
}

export function toClientDto(row: ClientRow, identity: AppConfig['identity']): ClientDto {
  return {
    clientId: row.externalId,
    id: row.id,
    profile: row.profile,
    state: row.state,
    ...(row.profile === 'rc3'
      ? { spiffeId: `spiffe://${identity.trustDomain}/margo/wfm/${identity.wfmId}/client/${row.externalId}` }
      : {
          certificateFingerprint: row.certFingerprint ?? undefined,
          certificateSubject: subjectOf(row.certificatePem),
          keyId: row.keyId ?? undefined,
          proofOfPossession: row.possessionProvenAt !== null,
          possessionProvenAt: iso(row.possessionProvenAt),
        }),
    firstSeenAt: iso(row.firstSeenAt),
    lastSeenAt: iso(row.lastSeenAt),
    lastRemoteAddress: row.lastRemoteAddress,
    stateChangedAt: row.stateChangedAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  };
}

export function toClientSettingsDto(
  client: ClientSettingsRow | null,
  fleet: FleetSettingsRow,
): ClientSettingsDto {
  const pick = <T>(own: T | null | undefined, fallback: T) =>
    own !== null && own !== undefined
      ? { value: own, source: 'client' as const }
      : { value: fallback, source: 'fleet' as const };
  const interval = pick(client?.pollingIntervalSeconds, fleet.pollingIntervalSeconds);
  const period = pick(
    client?.pollingPeriod as PollingPeriodDto | null | undefined,
    fleet.pollingPeriod as PollingPeriodDto | null,
  );
  const windows = pick(
    client?.downtimeWindows as DowntimeWindowDto[] | null | undefined,
    fleet.downtimeWindows as unknown as DowntimeWindowDto[],
  );
  return {
    pollingIntervalSeconds: interval.value,
    pollingPeriod: period.value ?? null,
    downtimeWindows: windows.value ?? [],
    source: {
      pollingIntervalSeconds: interval.source,
      pollingPeriod: period.source,
      downtimeWindows: windows.source,
    },
  };
}

export function toOperatorTokenDto(row: OperatorTokenRow): OperatorTokenDto {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    revokedAt: iso(row.revokedAt),
    lastUsedAt: iso(row.lastUsedAt),
    ...(row.scope !== null ? { scope: row.scope as Record<string, string> } : {}),
  };
}

export function toPreauthorizedDto(row: PreauthorizedRow): PreauthorizedCertificateDto {
  return {
    fingerprint: row.fingerprint,
    note: row.note,
    createdAt: row.createdAt.toISOString(),
    usedAt: iso(row.usedAt),
  };
}
