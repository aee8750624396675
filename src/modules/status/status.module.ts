import { Module } from '@nestjs/common';

/** What actually happened: the Margo status-reporting API, rollups and live events. */
@Module({})
export class StatusModule {}
