import { Global, Module } from '@nestjs/common';
import { OperatorAuthService } from '../../modules/enrollment/auth/operator-auth.service.js';
import { OperatorTokenRepository } from '../../modules/enrollment/operator-token.repository.js';
import { EventLogService } from './event-log.service.js';
import { EventStreamGuard } from './event-stream.guard.js';
import { EventStreamService } from './event-stream.service.js';
import { EventTokenService } from './event-token.service.js';
import { EventRepository } from './event.repository.js';
import { EventsController } from './events.controller.js';

/**
 * The operator event log and its live stream (GET /operator/v1/events). Global: any module may
 * inject EventLogService to publish. Operator-token checks use their own (stateless) instances of
 * the enrollment services, which EnrollmentModule does not export.
 */
@Global()
@Module({
  controllers: [EventsController],
  providers: [
    EventRepository,
    EventLogService,
    EventTokenService,
    EventStreamService,
    EventStreamGuard,
    OperatorAuthService,
    OperatorTokenRepository,
  ],
  exports: [EventLogService],
})
export class EventsModule {}
