import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditAction } from '../../../infra/audit/audit-action.decorator.js';
import { DEVICE_LABELS_BULK_EXAMPLES } from '../../../common/openapi/examples.js';
import { ApiProblems } from '../../../common/openapi/api-problems.decorator.js';
import type { OperatorPrincipal } from '../../enrollment/auth/authenticated-client.js';
import { CurrentOperator, OperatorAuth } from '../../enrollment/auth/guards.js';
import { DeviceLabelsBulkService } from './device-labels-bulk.service.js';
import { DeviceLabelsBulkDto, DeviceLabelsBulkResultDto } from './dto/device-labels.dto.js';

/** `POST /operator/v1/devices/labels` (the per-device label routes are device-capability's). */
@ApiTags('Operator: devices')
@Controller('operator/v1/devices')
export class OperatorDeviceLabelsController {
  constructor(private readonly bulk: DeviceLabelsBulkService) {}

  @Post('labels')
  @HttpCode(200)
  @AuditAction('device-labels.bulk', 'device')
  @OperatorAuth('operator')
  @ApiOperation({
    summary: 'Set and remove operator labels on every device a selector matches (at most 1000 devices)',
    description:
      'The selector has the shape of a deployment selector and matches effective labels (reported labels ' +
      'with the operator labels over them). One transaction: every matched device changes, or none ' +
      '(422 when the selector matches more than 1000 devices, or a device would have more than 64 ' +
      'operator labels). Selector deployments are re-evaluated for each changed device, as after a ' +
      'capability change.',
  })
  @ApiBody({ type: DeviceLabelsBulkDto, examples: DEVICE_LABELS_BULK_EXAMPLES })
  @ApiOkResponse({ type: DeviceLabelsBulkResultDto })
  @ApiProblems(404, 422)
  changeDeviceLabels(
    @Body() body: DeviceLabelsBulkDto,
    @CurrentOperator() operator: OperatorPrincipal,
  ): Promise<DeviceLabelsBulkResultDto> {
    return this.bulk.change(body, operator);
  }
}
