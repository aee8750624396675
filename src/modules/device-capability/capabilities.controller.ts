import { Controller, Delete, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { RawBodyRequest } from '../../common/http/body-reader.middleware.js';
import { jsonBody } from '../../common/http/json-body.js';
import { CAPABILITIES_EXAMPLE } from '../../common/openapi/examples.js';
import { ApiProblems } from '../../common/openapi/api-problems.decorator.js';
import type { AuthenticatedClient } from '../enrollment/auth/authenticated-client.js';
import { CurrentClient, LegacyDevice, Rc3Device } from '../enrollment/auth/guards.js';
import { DeviceCapabilityService } from './device-capability.service.js';
import { DeviceCapabilitiesManifestDto } from './dto/device.dto.js';

/** `*deviceId` matches the rest of the path: hierarchical ids contain '/'. */
function joinDeviceId(value: string | string[]): string {
  return Array.isArray(value) ? value.join('/') : value;
}

const DEVICE_ID_PARAM = {
  name: 'deviceId',
  description: 'DeviceId; may contain / (gateway hierarchy: gw/child)',
  example: 'gw-1/plc-3',
};

@ApiTags('Device API (rc.3)')
@Controller('api/v1/capabilities')
export class Rc3CapabilitiesController {
  constructor(private readonly capabilities: DeviceCapabilityService) {}

  @Put('*deviceId')
  @Rc3Device()
  @ApiOperation({ summary: "Report a device's capabilities (201 created, 200 updated)" })
  @ApiParam(DEVICE_ID_PARAM)
  @ApiBody({ type: DeviceCapabilitiesManifestDto, examples: { device: { value: CAPABILITIES_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'Created' })
  @ApiOkResponse({ description: 'Updated (or unchanged)' })
  @ApiProblems(400, 404, 413, 422)
  async putCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
    @Res() res: Response,
  ): Promise<void> {
    const outcome = await this.capabilities.report(
      client,
      joinDeviceId(deviceId),
      jsonBody(req),
      req.rawBody ?? Buffer.alloc(0),
    );
    res.status(outcome.created ? 201 : 200).end();
  }

  @Delete('*deviceId')
  @HttpCode(204)
  @Rc3Device()
  @ApiOperation({ summary: 'Remove a device (a gateway removes its children too)' })
  @ApiParam(DEVICE_ID_PARAM)
  @ApiNoContentResponse()
  @ApiProblems(404)
  deleteCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
  ): Promise<void> {
    return this.capabilities.remove(client, joinDeviceId(deviceId));
  }
}

@ApiTags('Device API (legacy profile)')
@Controller('api/v1/clients/:clientId/capabilities')
export class LegacyCapabilitiesController {
  constructor(private readonly capabilities: DeviceCapabilityService) {}

  @Post()
  @HttpCode(201)
  @LegacyDevice()
  @ApiOperation({ summary: 'Report capabilities (oldest form: the device id comes from properties.id); 201' })
  @ApiBody({ type: DeviceCapabilitiesManifestDto, examples: { device: { value: CAPABILITIES_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'Stored' })
  @ApiProblems(404, 413, 422)
  async postCapabilitiesWithoutDeviceId(
    @CurrentClient() client: AuthenticatedClient,
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    await this.capabilities.report(client, undefined, jsonBody(req), req.rawBody ?? Buffer.alloc(0));
  }

  @Put()
  @HttpCode(201)
  @LegacyDevice()
  @ApiOperation({ summary: 'Report capabilities (oldest form); 201' })
  @ApiBody({ type: DeviceCapabilitiesManifestDto, examples: { device: { value: CAPABILITIES_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'Stored' })
  @ApiProblems(404, 413, 422)
  async putCapabilitiesWithoutDeviceId(
    @CurrentClient() client: AuthenticatedClient,
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    await this.capabilities.report(client, undefined, jsonBody(req), req.rawBody ?? Buffer.alloc(0));
  }

  @Post('*deviceId')
  @HttpCode(201)
  @LegacyDevice()
  @ApiOperation({ summary: "Report a device's capabilities; 201 on create and on update (legacy contract)" })
  @ApiParam(DEVICE_ID_PARAM)
  @ApiBody({ type: DeviceCapabilitiesManifestDto, examples: { device: { value: CAPABILITIES_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'Stored' })
  @ApiProblems(404, 413, 422)
  async postLegacyCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    await this.capabilities.report(
      client,
      joinDeviceId(deviceId),
      jsonBody(req),
      req.rawBody ?? Buffer.alloc(0),
    );
  }

  @Put('*deviceId')
  @HttpCode(201)
  @LegacyDevice()
  @ApiOperation({ summary: "Report a device's capabilities; 201 on create and on update (legacy contract)" })
  @ApiParam(DEVICE_ID_PARAM)
  @ApiBody({ type: DeviceCapabilitiesManifestDto, examples: { device: { value: CAPABILITIES_EXAMPLE } } })
  @ApiCreatedResponse({ description: 'Stored' })
  @ApiProblems(404, 413, 422)
  async putLegacyCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    await this.capabilities.report(
      client,
      joinDeviceId(deviceId),
      jsonBody(req),
      req.rawBody ?? Buffer.alloc(0),
    );
  }

  @Delete('*deviceId')
  @HttpCode(204)
  @LegacyDevice()
  @ApiOperation({ summary: 'Remove a device (a gateway removes its children too)' })
  @ApiParam(DEVICE_ID_PARAM)
  @ApiNoContentResponse()
  @ApiProblems(404)
  deleteLegacyCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
  ): Promise<void> {
    return this.capabilities.remove(client, joinDeviceId(deviceId));
  }
}
