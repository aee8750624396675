import { describe, expect, it } from 'vitest';
import { clientErrorResponse } from './client-error.js';

describe('clientErrorResponse', () => {
  const parse = (raw: string) => {
    const [head, body] = raw.split('\r\n\r\n');
    return { head, problem: JSON.parse(body) as Record<string, unknown>, length: Buffer.byteLength(body) };
  };

  it('answers oversized headers 431 as a problem document with a matching Content-Length', () => {
    const { head, problem, length } = parse(clientErrorResponse('HPE_HEADER_OVERFLOW'));
    expect(head).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(head).toContain('Content-Type: application/problem+json');
    expect(head).toContain(`Content-Length: ${length}`);
    expect(head).toContain('Connection: close');
    expect(problem).toMatchObject({ status: 431, title: 'Request Header Fields Too Large' });
    expect(typeof problem.type).toBe('string');
    expect(typeof problem.detail).toBe('string');
  });

  it('answers other parser errors 400 invalid-request, timeouts 408', () => {
    expect(parse(clientErrorResponse('HPE_INVALID_METHOD')).problem).toMatchObject({
      status: 400,
      type: 'https://docs.margo.org/specification/problem-types#invalid-request',
    });
    expect(parse(clientErrorResponse(undefined)).problem).toMatchObject({ status: 400 });
    expect(parse(clientErrorResponse('ERR_HTTP_REQUEST_TIMEOUT')).head).toMatch(/^HTTP\/1\.1 408 /);
  });
});
