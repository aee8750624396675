import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLogService } from '../../src/infra/events/event-log.service.js';
import { type TestService, startTestService } from '../support/service.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the test runs when it is there.
const available = existsSync(CHROMIUM) || process.env.CI === 'true';

/** The flow an operator UI depends on: a page on another origin follows live events with EventSource. */
describe.runIf(available)('live events in a real browser (headless Chromium)', () => {
  let wfm: TestService;
  let page: http.Server;
  let pageOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    page = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><title>ui</title><script>
        window.received = [];
        async function start(wfm, admin) {
          const res = await fetch(wfm + '/operator/v1/events/token', { method: 'POST', headers: { authorization: 'Bearer ' + admin } });
          const { token } = await res.json();
          const source = new EventSource(wfm + '/operator/v1/events?type=status.changed&token=' + encodeURIComponent(token));
          source.addEventListener('status.changed', (e) => window.received.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
          await new Promise((resolve) => source.addEventListener('open', resolve));
        }
      </script>`);
    });
    await new Promise<void>((r) => page.listen(0, '127.0.0.1', () => r()));
    pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    wfm = await startTestService({ WFM_CORS_ORIGINS: pageOrigin });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await wfm?.stop();
    await new Promise<void>((r) => page?.close(() => r()));
  });

  it('receives status events pushed by the service, in order', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const tab = await context.newPage();
    await tab.goto(pageOrigin);
    await tab.evaluate(
      ([url, token]) =>
        (window as unknown as { start(a: string, b: string): Promise<void> }).start(url, token),
      [wfm.url, wfm.adminToken],
    );
    const events = wfm.app.get(EventLogService);
    for (const state of ['installing', 'installed']) {
      await events.publish({ type: 'status.changed', clientId: 'ui-test', data: { state } });
    }
    await events.publish({ type: 'manifest.issued', clientId: 'ui-test', data: { manifestVersion: '2' } });
    await tab.waitForFunction(
      () => (window as unknown as { received: unknown[] }).received.length >= 2,
      undefined,
      { timeout: 10_000 },
    );
    const received = await tab.evaluate(
      () => (window as unknown as { received: { id: string; data: { data: { state: string } } }[] }).received,
    );
    expect(received.map((e) => e.data.data.state)).toEqual(['installing', 'installed']);
    expect(BigInt(received[1].id)).toBeGreaterThan(BigInt(received[0].id));
    await context.close();
  });
});
