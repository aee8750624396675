import { Global, Module } from '@nestjs/common';
import { EventLogService } from './event-log.service.js';
import { EventRepository } from './event.repository.js';

/**
 * The operator event log (`operator_event`): publish and subscribe across instances. Global, so any
 * module may inject EventLogService to publish; the operator-facing stream that reads it lives in
 * the events feature module (src/modules/events).
 */
@Global()
@Module({
  providers: [EventRepository, EventLogService],
  exports: [EventLogService],
})
export class EventLogModule {}
