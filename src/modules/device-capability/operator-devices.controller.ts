import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../enrollment/auth/guards.js';
import { ClientProfileQueryDto } from '../enrollment/dto/client.dto.js';
import { DeviceInventoryService } from './device-inventory.service.js';
import { DeviceDetailDto, DeviceListQueryDto, DevicePageDto } from './dto/device.dto.js';

@ApiTags('Operator: devices')
@Controller('operator/v1/devices')
export class OperatorDevicesController {
  constructor(private readonly inventory: DeviceInventoryService) {}

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
    const device = Array.isArray(deviceId) ? deviceId.join('/') : deviceId;
    return this.inventory.get(clientId, device, profile, by.scope);
  }
}
