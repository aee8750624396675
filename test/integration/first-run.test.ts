import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDevPki } from '../../src/infra/tls/dev-pki.js';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../support/env.js';
import { runToExit } from '../support/process.js';
import { startTestService } from '../support/service.js';

const run = (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000) =>
  runToExit(args, { WFM_DATA_DIR: '/tmp/wfm-first-run-test', ...env }, timeoutMs);

describe('WFM_TLS_SANS in the development server certificate', () => {
  it('adds the names, and re-issues the certificate when they change', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wfm-sans-'));
    const spiffe = 'spiffe://wfm.local/margo/wfm/wfm-1';
    const first = await ensureDevPki(dir, 'wfm.local', spiffe, { dnsNames: ['wfm.lan'], ips: ['10.1.2.3'] });
    const cert1 = new X509Certificate(await readFile(first.serverCertPath));
    expect(cert1.subjectAltName).toContain('DNS:wfm.lan');
    expect(cert1.subjectAltName).toContain('IP Address:10.1.2.3');
    expect(cert1.subjectAltName).toContain('DNS:localhost');

    const same = await ensureDevPki(dir, 'wfm.local', spiffe, { dnsNames: ['wfm.lan'], ips: ['10.1.2.3'] });
    expect(same.created).toEqual([]);

    const changed = await ensureDevPki(dir, 'wfm.local', spiffe, {
      dnsNames: ['edge.example'],
      ips: ['fd00::5'],
    });
    expect(changed.created).toEqual([changed.serverCertPath]);
    const cert2 = new X509Certificate(await readFile(changed.serverCertPath));
    expect(cert2.subjectAltName).toContain('DNS:edge.example');
    expect(cert2.subjectAltName).not.toContain('wfm.lan');
    expect(cert2.serialNumber).not.toBe(cert1.serialNumber);
  });
});

describe('WFM_METRICS_TOKEN', () => {
  it('answers 401 problem+json without the token and serves the metrics with it', async () => {
    const token = 'metrics-token-0123456789';
    const wfm = await startTestService({ WFM_METRICS_TOKEN: token });
    try {
      const anonymous = await wfm.call('/metrics');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['content-type']).toBe('application/problem+json');
      expect(anonymous.json()).toMatchObject({
        status: 401,
        detail: expect.stringContaining('WFM_METRICS_TOKEN'),
      });
      const wrong = await wfm.call('/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(wrong.status).toBe(401);
      const ok = await wfm.call('/metrics', { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      expect(ok.text()).toContain('wfm_http_requests_total');
    } finally {
      await wfm.stop();
    }
  });
});

describe('start-up and tool messages', () => {
  it('reports a port already in use in one line and exits non-zero', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await run(['dist/src/main.js'], {
        PORT: String(port),
        WFM_HOST: '127.0.0.1',
        DATABASE_URL: TEST_DATABASE_URL,
        REDIS_URL: TEST_REDIS_URL,
        WFM_QUEUE_PREFIX: 'wfm-first-run',
      });
      expect(result.code).toBe(1);
      expect(result.output).toContain(
        `margo-wfm cannot start. Port ${port} is already in use on 127.0.0.1:${port}`,
      );
      expect(result.output).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise<void>((r) => blocker.close(() => r()));
    }
  });

  it('names the command that provides PostgreSQL and Redis when one is missing', async () => {
    const result = await run(['dist/src/main.js'], {
      DATABASE_URL: TEST_DATABASE_URL,
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(result.code).toBe(1);
    expect(result.output).toContain('docker compose -f docker-compose.deps.yml up -d');
    expect(result.output).toContain('apt-get install postgresql redis-server');
  });

  it('npm run pki -- --help prints usage; an unknown command exits 2 with usage', async () => {
    const help = await run(['dist/src/bin/pki.js', '--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('usage: npm run pki -- issue-client');
    expect(help.output).not.toMatch(/\n\s+at /);
    const unknown = await run(['dist/src/bin/pki.js', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('unknown command "frobnicate"');
    expect(unknown.output).toContain('usage:');
    const badOption = await run(['dist/src/bin/pki.js', '--nope']);
    expect(badOption.code).toBe(2);
    expect(badOption.output).not.toMatch(/\n\s+at /);
  });

  it('npm run demo -- --help says how to reach a service on another port', async () => {
    const help = await run(['dist/src/bin/demo.js', '--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('--url');
    expect(help.output).toContain('--data-dir');
  });
});
