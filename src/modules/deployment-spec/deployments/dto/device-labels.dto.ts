import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDefined, IsOptional, ValidateNested } from 'class-validator';
import { SelectorDto } from './deployment.dto.js';

/** POST /operator/v1/devices/labels: set and remove operator labels on every device a selector matches. */
export class DeviceLabelsBulkDto {
  @ApiProperty({
    type: () => SelectorDto,
    description: 'The devices to change, in the shape of a deployment selector (it matches effective labels)',
  })
  @IsDefined()
  @ValidateNested()
  @Type(() => SelectorDto)
  selector!: SelectorDto;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Operator labels to set (same rules as PUT …/labels)',
    example: { role: 'canary' },
  })
  // checked by DeviceLabelsService.readBulk, with pointers
  @IsOptional()
  set?: unknown;

  @ApiPropertyOptional({
    type: [String],
    description: 'Operator label keys to remove (a reported label with the same key shows again)',
    example: ['maintenance'],
  })
  @IsOptional()
  remove?: unknown;
}

export class DeviceLabelsBulkResultDto {
  @ApiProperty({ description: 'Devices the selector matched', example: 3 }) matched!: number;
  @ApiProperty({
    description: 'Devices whose operator labels changed (the others had them already)',
    example: 2,
  })
  changed!: number;
}
