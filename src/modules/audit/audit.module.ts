import { Module } from '@nestjs/common';
import { EnrollmentModule } from '../enrollment/enrollment.module.js';
import { AuditController } from './audit.controller.js';
import { AuditQueryService } from './audit-query.service.js';

/**
 * The operator query of the audit log (GET /operator/v1/audit). The log itself, which every module
 * writes to, is src/infra/audit (AuditService, global).
 */
@Module({
  imports: [EnrollmentModule],
  controllers: [AuditController],
  providers: [AuditQueryService],
})
export class AuditQueryModule {}
