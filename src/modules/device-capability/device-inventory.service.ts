import { Injectable } from '@nestjs/common';
import { decodeKey, pageOf } from '../../common/http/page.js';
import { NotFoundError, SemanticError } from '../../common/problem/domain-error.js';
import { ConflictError } from '../../common/problem/domain-error.js';
import { DeviceRepository, type DeviceListFilter, type DeviceRow } from './device.repository.js';
import { toDeviceDetail, toDeviceSummary } from './device.mapper.js';
import type { DeviceDetailDto, DeviceListQueryDto, DevicePageDto } from './dto/device.dto.js';
import { parseQuantity } from './quantity.js';

const HISTORY_SHOWN = 100;

/** The operator's view of the fleet: filtered device lists and one device with its history. */
@Injectable()
export class DeviceInventoryService {
  constructor(private readonly devices: DeviceRepository) {}

  /** `scope`: the caller's label scope; the query returns only devices inside it. */
  async list(query: DeviceListQueryDto, scope?: Record<string, string>): Promise<DevicePageDto> {
    const filter: DeviceListFilter = {
      scope,
      clientExternalId: query.clientId,
      labels: Object.fromEntries(
        (query.label ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      ),
      architecture: query.architecture,
      minCores: query.minCores,
      minMemoryBytes: this.quantity(query.minMemory, 'minMemory'),
      minStorageBytes: this.quantity(query.minStorage, 'minStorage'),
      peripheral: query.peripheral,
      deploymentType: query.deploymentType,
      parentDeviceId: query.parent,
      topLevel: query.topLevel,
      lastSeenAfter: query.lastSeenAfter ? new Date(query.lastSeenAfter) : undefined,
      lastSeenBefore: query.lastSeenBefore ? new Date(query.lastSeenBefore) : undefined,
      after: query.after ? this.cursor(query.after) : undefined,
      limit: query.limit + 1,
    };
    const rows = await this.devices.list(filter);
    return pageOf(
      rows,
      query.limit,
      (row) => [row.deviceId, row.id],
      (row) => toDeviceSummary(row, row.operatorKeys),
    );
  }

  async get(
    clientId: string,
    deviceId: string,
    profile?: string,
    scope?: Record<string, string>,
  ): Promise<DeviceDetailDto> {
    const row = await this.resolve(clientId, deviceId, profile, scope);
    const [children, history, operatorLabels] = await Promise.all([
      this.devices.children(row.clientId, row.deviceId, scope),
      this.devices.history(row.clientId, row.deviceId, HISTORY_SHOWN),
      this.devices.operatorLabels([row]),
    ]);
    return toDeviceDetail(
      row,
      children.map((c) => c.deviceId),
      history,
      operatorLabels,
    );
  }

  /**
   * The live device an operator names by its client's external id (404, also when it lies outside
   * the caller's `scope`; 409 when both profiles have the id).
   */
  async resolve(
    clientId: string,
    deviceId: string,
    profile?: string,
    scope?: Record<string, string>,
  ): Promise<DeviceRow> {
    const rows = await this.devices.findByExternal(clientId, deviceId, profile, scope);
    if (rows.length === 0) throw new NotFoundError(`No device ${deviceId} of client ${clientId}`);
    if (rows.length > 1) {
      throw new ConflictError(
        `Client id ${clientId} exists in both profiles; add ?profile=rc3 or ?profile=legacy`,
      );
    }
    return rows[0];
  }

  private quantity(text: string | undefined, field: string): bigint | undefined {
    if (text === undefined) return undefined;
    const bytes = parseQuantity(text);
    if (bytes === undefined) {
      throw new SemanticError(`${field} is not a quantity`, [
        { field: `/${field}`, message: 'must be a quantity such as 8Gi' },
      ]);
    }
    return bytes;
  }

  private cursor(value: string): { deviceId: string; id: string } {
    const [deviceId, id] = decodeKey(value, ['string', 'uuid']);
    return { deviceId, id };
  }
}
