import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestService, startTestService } from '../support/service.js';

describe('the service over HTTPS', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService();
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('serves TLS with a certificate that chains to the development CA and carries the SPIFFE ID', async () => {
    const res = await wfm.call('/health/live');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(wfm.tls?.certChainPem).toContain('BEGIN CERTIFICATE');
    const { X509Certificate } = await import('node:crypto');
    const leaf = new X509Certificate(wfm.tls!.certChainPem);
    expect(leaf.subjectAltName).toContain('URI:spiffe://wfm.local/margo/wfm/wfm-1');
  });

  it('reports Postgres and Redis up on /health/ready', async () => {
    const res = await wfm.call('/health/ready');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      status: 'ok',
      info: { postgres: { status: 'up' }, redis: { status: 'up' } },
    });
  });

  it('answers an unknown route with a problem document and echoes the request id', async () => {
    const res = await wfm.call('/no/such/route', { headers: { 'x-request-id': 'test-req-1' } });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-request-id']).toBe('test-req-1');
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No route for GET /no/such/route',
      instance: '/no/such/route',
      requestId: 'test-req-1',
      retryable: false,
      backoffStrategy: 'none',
    });
  });

  it('rejects malformed JSON with 400 #invalid-request', async () => {
    const res = await wfm.call('/health/live', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"not json',
    });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({
      type: 'https://docs.margo.org/specification/problem-types#invalid-request',
      status: 400,
      retryable: false,
    });
  });

  it('refuses a body over 1 MiB with 413 problem+json', async () => {
    const res = await wfm.call('/health/live', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(1024 * 1024 + 10, 0x20),
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  it('exposes Prometheus metrics with per-route HTTP series', async () => {
    await wfm.call('/health/live');
    const res = await wfm.call('/metrics');
    expect(res.status).toBe(200);
    expect(res.text()).toMatch(
      /wfm_http_requests_total\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
    expect(res.text()).toContain('wfm_process_cpu_user_seconds_total');
  });

  it('serves Swagger UI and the OpenAPI document', async () => {
    const ui = await wfm.call('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text()).toContain('swagger');
    const doc = await wfm.call('/docs/openapi.json');
    expect(doc.json()).toMatchObject({ openapi: '3.1.0' });
  });

  it('reuses the database, PKI and admin token when started a second time', async () => {
    const second = await startTestService({ DATABASE_URL: wfm.databaseUrl, WFM_DATA_DIR: wfm.dataDir });
    try {
      expect(second.tls!.certChainPem).toBe(wfm.tls!.certChainPem);
      expect(second.adminToken).toBe(wfm.adminToken);
      expect((await second.call('/health/ready')).status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
