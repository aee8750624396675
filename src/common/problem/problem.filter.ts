import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestIdOf } from '../logging/request-context.js';
import { requestInstance, sendProblem, toProblem } from './problem.js';

const logger = new Logger('ProblemFilter');

function render(error: unknown, req: Request, res: Response): void {
  const requestId = requestIdOf(res);
  const problem = toProblem(error, requestInstance(req), requestId);
  if (problem.status === 500) {
    logger.error(
      {
        msg: 'request failed',
        requestId,
        method: req.method,
        path: requestInstance(req),
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      },
      undefined,
    );
  }
  sendProblem(res, problem);
}

/** The one global error filter: every error becomes RFC 9457 application/problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    render(error, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/** Express-level error handler (errors raised before Nest's router, e.g. by the body reader). */
export function problemErrorMiddleware(
  error: unknown,
  req: Request,
  res: Response,
  _next: NextFunction,
): void {
  render(error, req, res);
}
