import { SetMetadata } from '@nestjs/common';

export const AUDIT_ACTION_KEY = 'wfm:audit-action';

export interface AuditActionMeta {
  action: string;
  resourceType: string;
  /** The route parameter that names the resource (e.g. `id`). */
  idParam?: string;
}

/**
 * Names the audit action of an operator route, for the entry the operator guard writes when it
 * refuses the caller (403, outcome `denied`); `{param}` in the name is replaced by that route
 * parameter. The service records the successful change itself.
 */
export const AuditAction = (action: string, resourceType: string, idParam?: string) =>
  SetMetadata(AUDIT_ACTION_KEY, {
    action,
    resourceType,
    ...(idParam ? { idParam } : {}),
  } satisfies AuditActionMeta);
