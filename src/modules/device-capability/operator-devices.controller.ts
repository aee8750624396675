import { Body, Controller, Get, Param, Patch, Put, Query } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../../infra/audit/audit-action.decorator.js';
import { DEVICE_LABELS_PATCH_EXAMPLES, DEVICE_LABELS_PUT_EXAMPLES } from '../../common/openapi/examples.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { ClientProfileQueryDto } from '../enrollment/dto/client.dto.js';
import { DeviceInventoryService } from './device-inventory.service.js';
import { DeviceLabelsService } from './device-labels.service.js';
import { DeviceDetailDto, DeviceLabelsDto, DeviceListQueryDto, DevicePageDto } from './dto/device.dto.js';

const LABEL_MAP_SCHEMA = {
  type: 'object' as const,
  additionalProperties: {
    oneOf: [
      { type: 'string' as const, maxLength: 1024 },
      { type: 'number' as const },
      { type: 'boolean' as const },
      { type: 'array' as const, items: { type: 'string' as const }, maxItems: 64 },
      { type: 'array' as const, items: { type: 'number' as const }, maxItems: 64 },
    ],
  },
  maxProperties: 64,
};

const deviceIdOf = (deviceId: string | string[]) => (Array.isArray(deviceId) ? deviceId.join('/') : deviceId);

@ApiTags('Operator: devices')
@Controller('operator/v1/devices')
export class OperatorDevicesController {
  constructor(
    private readonly inventory: DeviceInventoryService,
    private readonly labels: DeviceLabelsService,
  ) {}

  @Get()
  @OperatorAuth('viewer')
  @ApiOperation({
    summary:
      'List devices with filters (client, labels, architecture, capacity, types, gateway, last seen); keyset-paginated',
  })
  @ApiOkResponse({ type: DevicePageDto })
  @ApiProblems(422)
  listDevices(
    @Query() query: DeviceListQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DevicePageDto> {
    return this.inventory.list(query, by.scope);
  }

  @Get(':clientId/*deviceId')
  @OperatorAuth('viewer')
  @ApiOperation({
    summary: 'One device: current capabilities, the exact last document, children and history',
  })
  @ApiParam({ name: 'deviceId', description: 'May contain / (gateway hierarchy)' })
  @ApiOkResponse({ type: DeviceDetailDto })
  @ApiProblems(404, 409)
  getDevice(
    @Param('clientId') clientId: string,
    @Param('deviceId') deviceId: string | string[],
    @Query() { profile }: ClientProfileQueryDto,
    @CurrentOperator() by: OperatorPrincipal,
  ): Promise<DeviceDetailDto> {
    return this.inventory.get(clientId, deviceIdOf(deviceId), profile, by.scope);
  }

  @Put(':clientId/*deviceId/labels')
  @AuditAction('device-labels.replace', 'device', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: "Replace the device's operator labels (selectors match them over the reported labels)",
    description:
      'The body is the complete operator label set (`{}` removes every operator label). Keys: 1–255 ' +
      'characters without `=`; values as device labels (string, number, boolean, array of strings or of ' +
      'numbers), strings up to 1024 characters, arrays up to 64 items; at most 64 operator labels per ' +
      'device. An operator label wins over a reported label with the same key. Selector deployments are ' +
      're-evaluated shortly, as after a capability change.',
  })
  @ApiParam({ name: 'deviceId', description: 'May contain / (gateway hierarchy)' })
  @ApiBody({ schema: LABEL_MAP_SCHEMA, examples: DEVICE_LABELS_PUT_EXAMPLES })
  @ApiOkResponse({ type: DeviceLabelsDto, description: "The device's labels after the change" })
  @ApiProblems(404, 409, 422)
  replaceDeviceLabels(
    @Param('clientId') clientId: string,
    @Param('deviceId') deviceId: string | string[],
    @Query() { profile }: ClientProfileQueryDto,
    @Body() body: unknown,
    @CurrentOperator() operator: OperatorPrincipal,
  ): Promise<DeviceLabelsDto> {
    return this.labels.replace(clientId, deviceIdOf(deviceId), profile, body, operator);
  }

  @Patch(':clientId/*deviceId/labels')
  @AuditAction('device-labels.patch', 'device', 'clientId')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: "Change some of the device's operator labels (JSON Merge Patch: null removes a key)",
    description:
      'The body is a JSON Merge Patch (RFC 7396) of the operator label set, as `application/merge-patch+json` ' +
      'or `application/json`: keys left out stay, a key set to null is removed (a reported label with that ' +
      'key shows again). Same rules and bounds as PUT.',
  })
  @ApiParam({ name: 'deviceId', description: 'May contain / (gateway hierarchy)' })
  @ApiConsumes('application/merge-patch+json', 'application/json')
  @ApiBody({
    schema: {
      ...LABEL_MAP_SCHEMA,
      additionalProperties: { oneOf: [...LABEL_MAP_SCHEMA.additionalProperties.oneOf, { type: 'null' }] },
    },
    examples: DEVICE_LABELS_PATCH_EXAMPLES,
  })
  @ApiOkResponse({ type: DeviceLabelsDto, description: "The device's labels after the change" })
  @ApiProblems(404, 409, 422)
  patchDeviceLabels(
    @Param('clientId') clientId: string,
    @Param('deviceId') deviceId: string | string[],
    @Query() { profile }: ClientProfileQueryDto,
    @Body() body: unknown,
    @CurrentOperator() operator: OperatorPrincipal,
  ): Promise<DeviceLabelsDto> {
    return this.labels.patch(clientId, deviceIdOf(deviceId), profile, body, operator);
  }
}
