import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Min,
} from 'class-validator';
import { type Page, PageDto, PageQueryDto } from '../../../common/http/page.js';
import { ARCHITECTURES, DEPLOYMENT_TYPES, PERIPHERALS } from '../capabilities.parser.js';

class CpuDto {
  @ApiProperty({ example: 4 }) cores!: number;
  @ApiPropertyOptional({ enum: ARCHITECTURES }) architecture?: string;
}

class CapabilityPropertiesDto {
  @ApiProperty({ example: 'gw-1/plc-3' }) id!: string;
  @ApiProperty() vendor!: string;
  @ApiProperty() modelNumber!: string;
  @ApiProperty() serialNumber!: string;
  @ApiPropertyOptional({ type: () => [CpuDto] }) cpus?: CpuDto[];
  @ApiPropertyOptional({ example: '16Gi' }) memory?: string;
  @ApiPropertyOptional({ example: '256Gi' }) storage?: string;
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'object' },
    example: [{ type: 'gpu', manufacturer: 'NVIDIA' }],
  })
  peripherals?: object[];
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' }, example: [{ type: 'ethernet' }] })
  interfaces?: object[];
  @ApiPropertyOptional() otelCollector?: boolean;
  @ApiPropertyOptional({ example: ['oci'] }) supportedRuntimes?: string[];
  @ApiPropertyOptional({ example: ['helm', 'compose'] }) supportedDeploymentTypes?: string[];
}

/** Documentation of the request body (validated by capabilities.parser.ts, which also knows the older shape). */
export class DeviceCapabilitiesManifestDto {
  @ApiProperty({ type: () => CapabilityPropertiesDto }) properties!: CapabilityPropertiesDto;
  @ApiPropertyOptional({ example: { 'example.com/line': 'press-3' } }) labels?: Record<string, unknown>;
}

export class DeviceSummaryDto {
  @ApiProperty({ description: 'The reporting client (rc.3 wfm-client-id or legacy clientId)' })
  clientId!: string;
  @ApiProperty({ enum: ['rc3', 'legacy'] }) clientProfile!: string;
  @ApiProperty() deviceId!: string;
  @ApiPropertyOptional({ type: String, nullable: true, description: 'The gateway this device sits behind' })
  parentDeviceId!: string | null;
  @ApiProperty({ description: 'Reports workload-hosting capabilities' }) hosting!: boolean;
  @ApiProperty() vendor!: string;
  @ApiProperty() modelNumber!: string;
  @ApiProperty() serialNumber!: string;
  @ApiProperty({ type: [String] }) architectures!: string[];
  @ApiProperty({ description: 'Cores of the largest single CPU entry' }) maxCores!: number;
  @ApiPropertyOptional({ type: String, nullable: true }) memory!: string | null;
  @ApiPropertyOptional({ type: Number, nullable: true }) memoryBytes!: number | null;
  @ApiPropertyOptional({ type: String, nullable: true }) storage!: string | null;
  @ApiPropertyOptional({ type: Number, nullable: true }) storageBytes!: number | null;
  @ApiProperty({ type: [String] }) peripheralTypes!: string[];
  @ApiProperty({ type: [String] }) interfaceTypes!: string[];
  @ApiProperty({ type: [String] }) runtimes!: string[];
  @ApiProperty({ type: [String] }) deploymentTypes!: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Effective labels, which selectors match: the labels the device reported with the ones an operator set over them (the operator wins a conflict)',
    example: { line: 'paint', role: 'canary' },
  })
  labels!: Record<string, unknown>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['device', 'operator'] },
    description: 'Where each effective label comes from',
    example: { line: 'device', role: 'operator' },
  })
  labelSources!: Record<string, 'device' | 'operator'>;
  @ApiProperty({ description: 'Counts every change placement reads: capability reports and label changes' })
  capabilityVersion!: number;
  @ApiProperty({ description: 'The last change has not been recomputed yet (placement may lag)' })
  recomputePending!: boolean;
  @ApiProperty({ format: 'date-time' }) firstReportedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Last capability report (of any content)' })
  lastReportedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'Last change of the normalised model' })
  changedAt!: string;
}

export class DeviceChangeDto {
  @ApiProperty({
    enum: ['created', 'updated', 'deleted', 'labels'],
    description: '`labels`: an operator changed the operator labels',
  })
  kind!: string;
  @ApiProperty() capabilityVersion!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({
    description: 'SPIFFE ID or legacy:<clientId> of the reporter; operator:<token name> for a label change',
  })
  reportedBy!: string;
  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    example: [{ field: 'memoryText', from: '8Gi', to: '16Gi' }],
  })
  changes!: object[];
}

/** One label an operator set on a device. */
export class OperatorLabelDto {
  @ApiProperty({ example: 'role' }) key!: string;
  @ApiProperty({
    description: 'A string, number, boolean, or an array of strings or numbers',
    example: 'canary',
    oneOf: [
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
      { type: 'array', items: { type: 'string' } },
      { type: 'array', items: { type: 'number' } },
    ],
  })
  value!: unknown;
  @ApiProperty({ description: 'The name of the operator token that set it', example: 'admin' })
  setBy!: string;
  @ApiProperty({ format: 'date-time' }) setAt!: string;
}

/** A device's labels: effective, by source, as reported and as set by operators. */
export class DeviceLabelsDto {
  @ApiProperty({ description: 'The reporting client (rc.3 wfm-client-id or legacy clientId)' })
  clientId!: string;
  @ApiProperty({ enum: ['rc3', 'legacy'] }) clientProfile!: string;
  @ApiProperty() deviceId!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'Effective labels (what selectors match): reported labels with the operator labels over them',
    example: { line: 'paint', role: 'canary' },
  })
  labels!: Record<string, unknown>;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['device', 'operator'] },
    example: { line: 'device', role: 'operator' },
  })
  labelSources!: Record<string, 'device' | 'operator'>;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The labels of the last capability report',
    example: { line: 'paint' },
  })
  reportedLabels!: Record<string, unknown>;
  @ApiProperty({ type: () => [OperatorLabelDto], description: 'The operator labels, by key' })
  operatorLabels!: OperatorLabelDto[];
  @ApiProperty() capabilityVersion!: number;
  @ApiProperty({ description: 'Placement has not caught up with the last change yet (it will shortly)' })
  recomputePending!: boolean;
}

export class DeviceDetailDto extends DeviceSummaryDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The labels of the last capability report (an operator label with the same key wins)',
  })
  reportedLabels!: Record<string, unknown>;
  @ApiProperty({ type: () => [OperatorLabelDto], description: 'The labels operators set, by key' })
  operatorLabels!: OperatorLabelDto[];
  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    description: 'CPU entries as reported',
    example: [{ cores: 4, architecture: 'arm64' }],
  })
  cpus!: object[];
  @ApiPropertyOptional({ type: Boolean, nullable: true }) otelCollector!: boolean | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'x-<name>-extensions, kept verbatim',
  })
  extensions!: Record<string, unknown>;
  @ApiProperty({ description: 'The capability document exactly as last received' }) document!: unknown;
  @ApiProperty({ type: [String], description: 'Devices directly behind this one (gateway)' })
  children!: string[];
  @ApiProperty({ type: () => [DeviceChangeDto] }) history!: DeviceChangeDto[];
}

/** `{items, next}` of device summaries. */
export const DevicePageDto = PageDto(DeviceSummaryDto, 'DevicePageDto');
export type DevicePageDto = Page<DeviceSummaryDto>;

const toArray = ({ value }: { value: unknown }) =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' ? true : value === 'false' ? false : value;

export class DeviceListQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Client id (rc.3 wfm-client-id or legacy clientId)' })
  @IsOptional()
  @IsString()
  clientId?: string;

  @ApiPropertyOptional({
    description: 'Label selector key=value (repeatable; all must match)',
    isArray: true,
    type: String,
  })
  @IsOptional()
  @Transform(toArray)
  @IsArray()
  @Matches(/^[^=]+=.*$/, { each: true, message: 'label must be key=value' })
  label?: string[];

  @ApiPropertyOptional({ enum: ARCHITECTURES })
  @IsOptional()
  @IsIn(ARCHITECTURES)
  architecture?: string;

  @ApiPropertyOptional({ description: 'At least this many cores in one CPU entry' })
  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  minCores?: number;

  @ApiPropertyOptional({ description: 'At least this much memory (e.g. 8Gi or bytes)' })
  @IsOptional()
  @IsString()
  minMemory?: string;

  @ApiPropertyOptional({ description: 'At least this much storage (e.g. 100Gi or bytes)' })
  @IsOptional()
  @IsString()
  minStorage?: string;

  @ApiPropertyOptional({ enum: PERIPHERALS })
  @IsOptional()
  @IsIn(PERIPHERALS)
  peripheral?: string;

  @ApiPropertyOptional({ enum: DEPLOYMENT_TYPES })
  @IsOptional()
  @IsIn(DEPLOYMENT_TYPES)
  deploymentType?: string;

  @ApiPropertyOptional({ description: 'Only devices directly behind this gateway deviceId' })
  @IsOptional()
  @IsString()
  parent?: string;

  @ApiPropertyOptional({ description: 'Only top-level devices (no gateway above them)' })
  @IsOptional()
  @Transform(toBool)
  @IsBoolean()
  topLevel?: boolean;

  @ApiPropertyOptional({ format: 'date-time', description: 'Last report at or after' })
  @IsOptional()
  @IsISO8601()
  lastSeenAfter?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Last report before' })
  @IsOptional()
  @IsISO8601()
  lastSeenBefore?: string;
}
