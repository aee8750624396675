import { ApiProperty } from '@nestjs/swagger';

export class PreviewReasonDto {
  @ApiProperty({ example: 'needs 4 cores, the device has 2' }) reason!: string;
  @ApiProperty({
    example: 24,
    description: 'Devices not placeable for this reason (one device may have several)',
  })
  count!: number;
}

export class PreviewSampleDto {
  @ApiProperty({ example: 'line-1.plc', description: 'External client id' }) clientId!: string;
  @ApiProperty({ example: 'plc-7' }) deviceId!: string;
  @ApiProperty() placeable!: boolean;
  @ApiProperty({
    example: 'profile line-monitor-helm',
    description: 'The profile placement would choose, or the first reason it is not placeable',
  })
  reason!: string;
}

/** What a deployment would do, decided now without writing anything (POST /operator/v1/deployments/preview). */
export class DeploymentPreviewDto {
  @ApiProperty({ example: 1204, description: 'Devices the target matches (among those decided)' })
  matched!: number;
  @ApiProperty({ example: 1180, description: 'Matched devices a profile of the package fits now' })
  placeable!: number;
  @ApiProperty({ example: 24 }) notPlaceable!: number;
  @ApiProperty({
    type: [PreviewReasonDto],
    description: 'Why devices are not placeable, most frequent first',
  })
  reasons!: PreviewReasonDto[];
  @ApiProperty({ type: [PreviewSampleDto], description: 'Up to 20 matched devices, the not placeable first' })
  sample!: PreviewSampleDto[];
  @ApiProperty({
    example: 1210,
    description:
      "Devices the selector's label and client parts select (counted in SQL) before its expressions are evaluated",
  })
  candidates!: number;
  @ApiProperty({ example: 1210, description: 'Candidates decided (at most 5,000, in id order)' })
  decided!: number;
  @ApiProperty({
    description:
      'True when there were more candidates than were decided: the counts above cover the decided ones',
  })
  sampled!: boolean;
}
