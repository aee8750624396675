import { Global, Module } from '@nestjs/common';
import { EnrollmentModule } from '../../modules/enrollment/enrollment.module.js';
import { EventLogService } from './event-log.service.js';
import { EventStreamGuard } from './event-stream.guard.js';
import { EventStreamService } from './event-stream.service.js';
import { EventTokenService } from './event-token.service.js';
import { EventRepository } from './event.repository.js';
import { EventsController } from './events.controller.js';

/**
 * The operator event log and its live stream (GET /operator/v1/events). Global: any module may
 * inject EventLogService to publish. Operator tokens are checked with the enrollment module's
 * exported OperatorAuthService.
 */
@Global()
@Module({
  imports: [EnrollmentModule],
  controllers: [EventsController],
  providers: [EventRepository, EventLogService, EventTokenService, EventStreamService, EventStreamGuard],
  exports: [EventLogService],
})
export class EventsModule {}
