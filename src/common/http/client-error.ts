import { type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE } from '../problem/problem.js';
import { ProblemType } from '../problem/problem-types.js';

/**
 * Errors Node's HTTP parser raises before a request reaches Express (a request line or headers over
 * the size limit, malformed HTTP, a request timeout). Node answers them with a bare status line; this
 * answers them, like every other error, with an RFC 9457 problem document (same status codes).
 */

const STATUS_BY_CODE: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  HPE_CHUNK_EXTENSIONS_OVERFLOW: 413,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

const DETAIL_BY_STATUS: Record<number, string> = {
  431: 'The request line and header fields together exceed the size limit',
  413: 'The chunk extensions exceed the size limit',
  408: 'The request did not arrive in time',
  400: 'The request is not valid HTTP/1.1',
};

/** The raw HTTP/1.1 answer to a parser error `code` (the connection is closed after it). */
export function clientErrorResponse(code: string | undefined): string {
  const status = (code !== undefined ? STATUS_BY_CODE[code] : undefined) ?? 400;
  const title = STATUS_CODES[status] ?? 'Bad Request';
  const body = JSON.stringify({
    type: status === 400 ? ProblemType.invalidRequest : ProblemType.aboutBlank,
    title: status === 400 ? 'Invalid request' : title,
    status,
    detail: DETAIL_BY_STATUS[status],
    retryable: false,
    backoffStrategy: 'none',
  });
  return (
    `HTTP/1.1 ${status} ${title}\r\n` +
    `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/** Replaces Node's default `clientError` answer with {@link clientErrorResponse}. */
export function answerClientErrorsWithProblems(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const message = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || message?.headersSent === true) {
      socket.destroy();
      return;
    }
    socket.end(clientErrorResponse(error.code));
  });
}
