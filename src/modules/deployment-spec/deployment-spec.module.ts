import { Module } from '@nestjs/common';

/** What should run where: application packages, placement, rendering and the state manifest. */
@Module({})
export class DeploymentSpecModule {}
