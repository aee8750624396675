import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed request',
  401: 'Missing or invalid credentials',
  403: 'Not authorized by local policy',
  404: 'Not found',
  406: 'Not acceptable',
  409: 'Conflict',
  413: 'Request body too large',
  422: 'Semantic error; `errors[]` points at each field',
  429: 'Rate limited; see Retry-After',
  503: 'A dependency is unavailable; see Retry-After',
};

/** Documents the problem+json answers of a route. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } } },
      }),
    ),
  );
}
