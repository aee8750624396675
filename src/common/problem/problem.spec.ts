import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { SemanticError, ServiceUnavailableError, TooManyRequestsError } from './domain-error.js';
import { toProblem } from './problem.js';
import { ProblemType } from './problem-types.js';

describe('toProblem', () => {
  it('renders a domain error with its type, detail and field pointers', () => {
    const problem = toProblem(
      new SemanticError('bad', [{ field: '/a/0', message: 'must be a string' }]),
      '/x',
      'r1',
    );
    expect(problem).toEqual({
      type: ProblemType.semanticError,
      title: 'Semantic error',
      status: 422,
      detail: 'bad',
      instance: '/x',
      requestId: 'r1',
      retryable: false,
      backoffStrategy: 'none',
      errors: [{ field: '/a/0', message: 'must be a string' }],
    });
  });

  it('marks 429 and 503 retryable with exponential backoff and a retry delay', () => {
    for (const error of [
      new TooManyRequestsError('slow down', 7),
      new ServiceUnavailableError('db down', 7),
    ]) {
      expect(toProblem(error, '/x')).toMatchObject({
        retryable: true,
        backoffStrategy: 'exponential',
        retryAfterSeconds: 7,
      });
    }
    expect(toProblem(new ServiceUnavailableException(), '/x')).toMatchObject({
      status: 503,
      retryAfterSeconds: 5,
    });
  });

  it('hides the internals of unknown errors behind a generic, retryable 500', () => {
    const problem = toProblem(new Error('password=hunter2 at line 3'), '/x');
    expect(problem).toMatchObject({
      status: 500,
      title: 'Internal Server Error',
      retryable: true,
      backoffStrategy: 'exponential',
    });
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });

  it('maps Nest HTTP exceptions to about:blank with the reason phrase', () => {
    expect(toProblem(new NotFoundException('Cannot GET /x'), '/x')).toMatchObject({
      type: 'about:blank',
      title: 'Not Found',
      detail: 'No route for GET /x',
      retryable: false,
    });
    expect(toProblem(new BadRequestException('nope'), '/x')).toMatchObject({
      status: 400,
      title: 'Bad Request',
    });
  });

  it('names the dependency that is down in a readiness failure', () => {
    const error = new ServiceUnavailableException({ status: 'error', error: { redis: { status: 'down' } } });
    expect(toProblem(error, '/health/ready')).toMatchObject({
      detail: 'Not ready: redis unavailable',
      error: { redis: { status: 'down' } },
    });
  });
});

describe('database unavailability', () => {
  it('answers 503 with Retry-After for pool and transaction-start timeouts and lost connections', () => {
    const timeout = Object.assign(
      new Error('Transaction API error: Unable to start a transaction in the given time.'),
      {
        name: 'PrismaClientKnownRequestError',
        code: 'P2028',
      },
    );
    expect(toProblem(timeout, '/x')).toMatchObject({ status: 503, retryable: true, retryAfterSeconds: 5 });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      name: 'DriverAdapterError',
    });
    expect(toProblem(refused, '/x')).toMatchObject({ status: 503 });
    // node-postgres' pool, when no connection frees up within its wait, throws a plain Error
    expect(toProblem(new Error('timeout exceeded when trying to connect'), '/x')).toMatchObject({
      status: 503,
      retryAfterSeconds: 5,
    });
    // … and a plain Error when the connection drops under a statement or a transaction's BEGIN
    expect(toProblem(new Error('Connection terminated unexpectedly'), '/x')).toMatchObject({ status: 503 });
    expect(toProblem(new Error('Connection terminated by the user'), '/x')).toMatchObject({ status: 500 });
    const other = Object.assign(new Error('Unique constraint failed'), {
      name: 'PrismaClientKnownRequestError',
      code: 'P2002',
    });
    expect(toProblem(other, '/x')).toMatchObject({ status: 500 });
  });
});
