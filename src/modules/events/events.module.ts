import { Module } from '@nestjs/common';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { EventScopeRepository } from './event-scope.repository.js';
import { EventStreamGuard } from './event-stream.guard.js';
import { EventStreamService } from './event-stream.service.js';
import { EventTokenService } from './event-token.service.js';
import { EventsController } from './events.controller.js';
import { StreamKeyRepository } from './stream-key.repository.js';

/**
 * The operator event stream (GET /operator/v1/events, POST /operator/v1/events/token): Server-Sent
 * Events over the event log of src/infra/events (EventLogService, global), stream tokens for
 * browsers, and the guard that admits operator or stream tokens. Operator tokens are checked with
 * the enrollment module's exported OperatorAuthService and FailedAuthLimiter.
 */
@Module({
  imports: [EnrollmentModule],
  controllers: [EventsController],
  providers: [
    StreamKeyRepository,
    EventScopeRepository,
    EventTokenService,
    EventStreamService,
    EventStreamGuard,
  ],
})
export class EventsModule {}
