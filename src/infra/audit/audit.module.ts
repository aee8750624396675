import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { AuditEventsInterceptor } from './audit-events.interceptor.js';
import { AuditRepository } from './audit.repository.js';
import { AuditService } from './audit.service.js';

/**
 * The audit log (`audit_entry`). Global, so every feature module may inject AuditService and record
 * its changes in their own transactions; the operator-facing query lives in src/modules/audit.
 */
@Global()
@Module({
  providers: [AuditRepository, AuditService, { provide: APP_INTERCEPTOR, useClass: AuditEventsInterceptor }],
  exports: [AuditService],
})
export class AuditModule {}
