import { Module } from '@nestjs/common';
import { DeviceApiFallbackController } from './device-api-fallback.controller.js';

/** Imported last by AppModule so that its catch-all routes come after every real device route. */
@Module({ controllers: [DeviceApiFallbackController] })
export class DeviceApiFallbackModule {}
