import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { STATES } from '../status.parser.js';

class StatusErrorDto {
  @ApiPropertyOptional() code?: string;
  @ApiPropertyOptional() source?: string;
  @ApiPropertyOptional() message?: string;
}

class OverallStatusDto {
  @ApiProperty({ enum: STATES }) state!: string;
  @ApiPropertyOptional({ type: () => StatusErrorDto }) error?: StatusErrorDto;
}

class ComponentStatusDto {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: STATES }) state!: string;
  @ApiPropertyOptional({ type: () => StatusErrorDto }) error?: StatusErrorDto;
}

/** Documentation of the request body (validated by status.parser.ts). */
export class DeploymentStatusManifestDto {
  @ApiProperty({ format: 'uuid', description: 'Must equal the path' }) deploymentId!: string;
  @ApiPropertyOptional({
    description: 'Required for a child device; defaults to the device the deployment targets',
  })
  deviceId?: string;
  @ApiPropertyOptional({
    description: 'Required from rc.3 clients; the manifestVersion the client adopted',
    example: 7,
  })
  adoptedManifestVersion?: number;
  @ApiProperty({ type: () => OverallStatusDto }) status!: OverallStatusDto;
  @ApiProperty({ type: () => [ComponentStatusDto] }) components!: ComponentStatusDto[];
}

export class StatusEntryDto {
  @ApiProperty() clientId!: string;
  @ApiProperty() deploymentId!: string;
  @ApiProperty() deviceId!: string;
  @ApiProperty({ enum: STATES }) state!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) adoptedManifestVersion!: string | null;
  @ApiPropertyOptional({ nullable: true, type: 'object', additionalProperties: true }) error!: unknown;
  @ApiProperty({ type: 'array', items: { type: 'object' } }) components!: unknown;
  @ApiProperty() inconsistent!: boolean;
  @ApiProperty({ format: 'date-time' }) reportedAt!: string;
  @ApiPropertyOptional({ description: 'Only in histories: whether it became the current state' })
  applied?: boolean;
}

export class StatusSummaryDto {
  @ApiProperty({ example: { 'in-sync': 10, failed: 1 } }) overall!: Record<string, number>;
  @ApiProperty({ example: { '<deployment id>': { 'in-sync': 3 } } }) byDeployment!: Record<
    string,
    Record<string, number>
  >;
  @ApiProperty({ example: { 'com-example-line-monitor': { 'in-sync': 3 } } }) byApplication!: Record<
    string,
    Record<string, number>
  >;
  @ApiProperty({
    example: { 'line=paint': { 'in-sync': 2 } },
    description: 'Per label key=value of the target devices',
  })
  byLabel!: Record<string, Record<string, number>>;
}
