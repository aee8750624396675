import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class PackageProfileDto {
  @ApiProperty() id!: string;
  @ApiProperty({ enum: ['helm', 'compose', 'custom'] }) type!: string;
  @ApiProperty({ type: [String] }) components!: string[];
  @ApiProperty({
    description: 'Capacity needed on one device',
    example: { cores: 2, architectures: ['amd64'], memory: '1Gi' },
  })
  requirements!: Record<string, unknown>;
  @ApiProperty({ description: 'Number of eligibility rules' }) eligibilityRules!: number;
}

export class PackageDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'com-example-line-monitor' }) applicationId!: string;
  @ApiProperty({ example: '1.4.0' }) version!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional() description?: string;
  @ApiProperty({ type: () => [PackageProfileDto] }) profiles!: PackageProfileDto[];
  @ApiProperty({ type: [String], description: 'Declared parameters' }) parameters!: string[];
  @ApiProperty({ description: 'Deployments using this version' }) deployments!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) createdBy!: string | null;
  @ApiProperty({ description: 'The document as stored (parsed)' }) document!: unknown;
}
