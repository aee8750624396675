import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIssuer } from '../../src/client/identities.js';
import { runDemo } from '../../src/simulator/demo.js';
import { type TestService, startTestService } from '../support/service.js';

describe('npm run demo', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService({ WFM_RATE_LIMIT_PER_MINUTE: '0', WFM_RECOMPUTE_DEBOUNCE_MS: '200' });
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('walks the paint line through publish, placement, install and a parameter change, and cleans up', async () => {
    const pki = join(wfm.dataDir, 'pki');
    const issuer = await loadIssuer(
      await readFile(join(pki, 'ca.pem'), 'utf8'),
      await readFile(join(pki, 'ca-key.pem'), 'utf8'),
      wfm.config.identity.trustDomain,
      wfm.config.identity.wfmId,
    );
    const lines: string[] = [];
    const result = await runDemo({
      url: wfm.url,
      ca: wfm.serverCa!,
      adminToken: wfm.adminToken,
      issuer,
      wfmSpiffeId: wfm.config.identity.spiffeId,
      log: (line) => lines.push(line),
    });
    expect(result.failures, lines.join('\n')).toEqual([]);
    expect(result.success).toBe(true);
    const output = lines.join('\n');
    expect(output).toMatch(/not placed on press-small .*because: .*memory/);
    expect(output).toContain('Demo complete');
    // the package the demo published is gone again
    expect(output).toContain('removed the package com-example-line-monitor 2.1.0 it published');
    const left = await wfm.call('/operator/v1/applications/com-example-line-monitor/versions/2.1.0', {
      headers: { authorization: `Bearer ${wfm.adminToken}` },
    });
    expect(left.status).toBe(404);
    expect(result.seconds).toBeLessThan(60);
  }, 90_000);
});
