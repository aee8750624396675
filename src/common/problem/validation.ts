import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { escapePointer } from '../json/json-reader.js';
import { SemanticError } from './domain-error.js';
import type { FieldError } from './problem-types.js';

/** Flattens class-validator errors into `errors[]` with JSON pointers into the body. */
export function toFieldErrors(errors: ValidationError[], prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  for (const error of errors) {
    const pointer = `${prefix}/${escapePointer(String(error.property))}`;
    for (const message of Object.values(error.constraints ?? {})) {
      out.push({ field: pointer, message });
    }
    if (error.children?.length) out.push(...toFieldErrors(error.children, pointer));
  }
  return out;
}

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => {
      const fieldErrors = toFieldErrors(errors);
      const first = fieldErrors[0];
      const detail = first
        ? `${fieldErrors.length} invalid field(s); first: ${first.field} ${first.message}`
        : 'The request failed validation';
      return new SemanticError(detail, fieldErrors);
    },
  });
}
