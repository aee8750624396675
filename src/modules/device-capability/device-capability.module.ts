import { Module } from '@nestjs/common';

/** What each device has: the Margo capability-reporting API, device inventory and history. */
@Module({})
export class DeviceCapabilityModule {}
