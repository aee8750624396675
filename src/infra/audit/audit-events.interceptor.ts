import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { finalize, type Observable } from 'rxjs';
import { takeAppendedEventIds } from '../../common/logging/request-context.js';
import { AuditService } from './audit.service.js';

/**
 * Announces the audit events a request's transactions appended once its handler is done (they are
 * committed by then); without it other streams still see them at their next safety poll (≤ 2 s).
 */
@Injectable()
export class AuditEventsInterceptor implements NestInterceptor {
  constructor(private readonly audit: AuditService) {}

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      finalize(() => {
        void this.audit.announce(takeAppendedEventIds()).catch(() => undefined);
      }),
    );
  }
}
