import { applyDecorators, Controller, Delete, HttpCode, Param, Post, Put, Req, Res } from '@nestjs/common';
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

const LEGACY_REPORT_SUMMARY = "Report a device's capabilities; 201 on create and on update (legacy contract)";

const CAPABILITIES_BODY = ApiBody({
  type: DeviceCapabilitiesManifestDto,
  examples: { device: { value: CAPABILITIES_EXAMPLE } },
});

/** Stores one capability report; `deviceId` undefined: the oldest legacy form (`properties.id` names it). */
function report(
  capabilities: DeviceCapabilityService,
  client: AuthenticatedClient,
  deviceId: string | string[] | undefined,
  req: RawBodyRequest,
): Promise<{ created: boolean }> {
  return capabilities.report(
    client,
    deviceId === undefined ? undefined : joinDeviceId(deviceId),
    jsonBody(req),
    req.rawBody ?? Buffer.alloc(0),
  );
}

/**
 * What the four legacy report routes (POST and PUT, with and without a device id in the path) have
 * in common: a signed legacy device, the capability body, and 201 on create and on update alike.
 */
function LegacyCapabilityReport(summary: string, deviceIdInPath: boolean): MethodDecorator {
  return applyDecorators(
    HttpCode(201),
    LegacyDevice(),
    ApiOperation({ summary }),
    ...(deviceIdInPath ? [ApiParam(DEVICE_ID_PARAM)] : []),
    CAPABILITIES_BODY,
    ApiCreatedResponse({ description: 'Stored' }),
    ApiProblems(404, 413, 422),
  );
}

@ApiTags('Device API (rc.3)')
@Controller('api/v1/capabilities')
export class Rc3CapabilitiesController {
  constructor(private readonly capabilities: DeviceCapabilityService) {}

  @Put('*deviceId')
  @Rc3Device()
  @ApiOperation({ summary: "Report a device's capabilities (201 created, 200 updated)" })
  @ApiParam(DEVICE_ID_PARAM)
  @CAPABILITIES_BODY
  @ApiCreatedResponse({ description: 'Created' })
  @ApiOkResponse({ description: 'Updated (or unchanged)' })
  @ApiProblems(400, 404, 413, 422)
  async putCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
    @Res() res: Response,
  ): Promise<void> {
    const outcome = await report(this.capabilities, client, deviceId, req);
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
  @LegacyCapabilityReport(
    'Report capabilities (oldest form: the device id comes from properties.id); 201',
    false,
  )
  postCapabilitiesWithoutDeviceId(
    @CurrentClient() client: AuthenticatedClient,
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    return this.store(client, undefined, req);
  }

  @Put()
  @LegacyCapabilityReport('Report capabilities (oldest form); 201', false)
  putCapabilitiesWithoutDeviceId(
    @CurrentClient() client: AuthenticatedClient,
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    return this.store(client, undefined, req);
  }

  @Post('*deviceId')
  @LegacyCapabilityReport(LEGACY_REPORT_SUMMARY, true)
  postLegacyCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    return this.store(client, deviceId, req);
  }

  @Put('*deviceId')
  @LegacyCapabilityReport(LEGACY_REPORT_SUMMARY, true)
  putLegacyCapabilities(
    @CurrentClient() client: AuthenticatedClient,
    @Param('deviceId') deviceId: string | string[],
    @Req() req: RawBodyRequest,
  ): Promise<void> {
    return this.store(client, deviceId, req);
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

  /** The one handler of the four report routes: the answer is 201 whether the report created or updated. */
  private async store(
    client: AuthenticatedClient,
    deviceId: string | string[] | undefined,
    req: RawBodyRequest,
  ): Promise<void> {
    await report(this.capabilities, client, deviceId, req);
  }
}
