import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
import { type TestService, startTestService } from '../support/service.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Debian's chromium (.ci/run); elsewhere the test runs when it is there.
const available = existsSync(CHROMIUM) || process.env.CI === 'true';
const SCREENSHOTS = resolve(import.meta.dirname, '../../docs/screenshots');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** The operator console as an operator uses it, in Debian's Chromium against the real service. */
describe('the served console: caching, CSP, SPA fallback', () => {
  let wfm: TestService;
  beforeAll(async () => {
    wfm = await startTestService();
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('serves index.html uncached with a strict CSP for every app route, hashed assets immutable, 404 for others', async () => {
    for (const path of ['/console', '/console/', '/console/devices/line-1/plc-7', '/console/tokens']) {
      const res = await wfm.call(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    }
    const html = (await wfm.call('/console/')).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await wfm.call(asset!);
    expect(js.status).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-type']).toMatch(/javascript/);
    const missing = await wfm.call('/console/assets/nothing-here.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await wfm.call('/console/', { method: 'POST', body: '' })).status).toBe(404);
  });
});

describe.runIf(available)('the operator console in a real browser (headless Chromium)', () => {
  let wfm: TestService;
  let device: Rc3Client;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    wfm = await startTestService({ WFM_RECOMPUTE_DEBOUNCE_MS: '100' });
    device = await rc3Client(wfm, 'console-line');
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
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    device?.close();
    await wfm?.stop();
  });

  /** axe-core on the current page: no serious or critical violation. Run through DevTools, so the CSP stays on. */
  async function accessible(name: string): Promise<void> {
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
      return (await axe.run()).violations;
    });
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(
      bad.map(
        (v) =>
          `${name}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join(', ')}`,
      ),
    ).toEqual([]);
  }
  const shot = (name: string) => page.screenshot({ path: resolve(SCREENSHOTS, `${name}.png`) });
  const nav = async (label: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
    await page.getByRole('heading', { level: 2, name: heading }).waitFor();
  };

  it('signs in with a pasted token: the role is shown, a wrong token gets the problem detail', async () => {
    await page.goto(`${wfm.url}/console/`);
    await accessible('sign-in');
    await page.getByLabel('Operator token').fill('wfm_not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('problem').waitFor();
    await shot('sign-in');
    await page.getByLabel('Operator token').fill(wfm.adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 2, name: 'Fleet overview' }).waitFor();
    expect(await page.getByTestId('role').textContent()).toBe('admin');
    // the token lives in sessionStorage only, and never in a URL
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('wfm.operatorToken'),
      local: Object.keys(localStorage).length,
      url: location.href,
    }));
    expect(stored.session).toBe(wfm.adminToken);
    expect(stored.local).toBe(0);
    expect(stored.url).not.toContain(wfm.adminToken);
  });

  it('shows a simulated device appearing live on the device list', async () => {
    await nav('Devices', 'Devices');
    await page.locator('[data-testid="live"][data-open="true"]').waitFor();
    const res = await device.putCapabilities('paint-7', capabilities('paint-7', {}, { line: 'paint' }));
    expect(res.status, res.text()).toBe(201);
    await page
      .getByTestId('devices-table')
      .getByRole('link', { name: 'paint-7' })
      .waitFor({ timeout: 10_000 });
    await accessible('devices');
    await shot('devices');
    await page.getByTestId('devices-table').getByRole('link', { name: 'paint-7' }).click();
    await page.getByRole('heading', { level: 2, name: 'Device paint-7' }).waitFor();
    await page.getByTestId('device-history').getByText('created').waitFor();
    // set an operator label: it shows as the device's, and the API has it
    await page.getByLabel('Label key').fill('role');
    await page.getByLabel('Value').fill('canary');
    await page.getByRole('button', { name: 'Set label' }).click();
    await page.getByTestId('device-labels').getByText('role=canary (operator)').waitFor();
    await page.getByTestId('operator-labels').getByText('role').first().waitFor();
    const labelled = await wfm.call('/operator/v1/devices?label=role%3Dcanary', {
      headers: { authorization: `Bearer ${wfm.adminToken}` },
    });
    expect(labelled.json<{ items: { deviceId: string }[] }>().items.map((d) => d.deviceId)).toEqual([
      'paint-7',
    ]);
    await accessible('device');
    await shot('device');
  });

  it('publishes a package by file upload; an invalid one shows its errors at their JSON pointers', async () => {
    await nav('Packages', 'Packages');
    const upload = async (name: string, text: string) => {
      const chooser = page.waitForEvent('filechooser');
      await page.getByRole('button', { name: 'Upload margo.yaml' }).click();
      await (await chooser).setFiles({ name, mimeType: 'application/yaml', buffer: Buffer.from(text) });
    };
    await upload('broken.yaml', linePackage().replace('kind: ApplicationDescription', 'kind: Other'));
    await page.getByTestId('problem').getByText('/kind').waitFor();
    await upload('margo.yaml', linePackage());
    await page.getByTestId('published').waitFor();
    await page.getByTestId('packages-table').getByText('com-example-line-monitor').waitFor();
    await accessible('packages');
    await shot('packages');
  });

  it('creates a selector deployment after checking its live preview', async () => {
    await nav('Deployments', 'Deployments');
    await page.getByRole('link', { name: 'New deployment' }).click();
    await page.getByRole('heading', { level: 2, name: 'New deployment' }).waitFor();
    await page
      .getByRole('combobox', { name: /^Package version/ })
      .or(page.getByRole('textbox', { name: /^Package version/ }))
      .first()
      .click();
    await page.getByRole('option', { name: /com-example-line-monitor/ }).click();
    await page.getByLabel('Match labels').fill('line=paint');
    const summary = page.getByTestId('preview-summary');
    await summary.getByText('Matches 1 device; 1 placeable').waitFor({ timeout: 10_000 });
    await page.getByLabel('Match labels').fill('line=nowhere');
    await summary.getByText('Matches 0 devices; 0 placeable').waitFor({ timeout: 10_000 });
    await page.getByLabel('Match labels').fill('line=paint');
    await summary.getByText('Matches 1 device; 1 placeable').waitFor({ timeout: 10_000 });
    await accessible('deployment-create');
    await shot('deployment-create');
    await page.getByRole('button', { name: 'Create deployment' }).click();
    await page.getByRole('heading', { level: 2, name: /^Deployment [0-9a-f]{8}$/ }).waitFor();
    await page.getByTestId('targets-table').getByText('console-line/paint-7').waitFor({ timeout: 15_000 });
    await accessible('deployment');
    await shot('deployment');
    await page.getByRole('tab', { name: 'Rollout' }).click();
    await page.getByTestId('rollout').waitFor();
    await accessible('deployment rollout');
    await nav('Deployments', 'Deployments');
    await page.getByTestId('deployments-table').getByText('selector line=paint').waitFor();
  });

  it('approves a pending onboarding request after confirming', async () => {
    const identity = await issueDeviceCertificate('console-legacy', 'P-256');
    const { response, client } = await LegacyClient.onboard(wfm.url, identity, { ca: wfm.serverCa });
    expect(response.status, response.text()).toBe(201);
    await nav('Clients & onboarding', 'Clients & onboarding');
    const row = page.getByTestId(`onboarding-${client!.clientId}`);
    await row.waitFor({ timeout: 10_000 });
    await accessible('clients');
    await shot('clients');
    await row.getByRole('button', { name: 'Approve' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Approve').first().waitFor();
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await row.waitFor({ state: 'detached' });
    const res = await wfm.call(`/operator/v1/clients/${client!.clientId}?profile=legacy`, {
      headers: { authorization: `Bearer ${wfm.adminToken}` },
    });
    expect(res.json()).toMatchObject({ state: 'active' });

    // an rc.3 device whose client id is not accepted yet: its refused request is an enrollment request
    const newcomer = await rc3Client(wfm, 'console-newcomer', false);
    try {
      const refused = await newcomer.putCapabilities('n-1', capabilities('n-1'));
      expect(refused.status).toBe(403);
      // the refusal is written by the recorder's next flush: wait for it before the page loads the list
      const deadline = Date.now() + 15_000;
      for (;;) {
        const listed = await wfm.call('/operator/v1/enrollment-requests?clientId=console-newcomer', {
          headers: { authorization: `Bearer ${wfm.adminToken}` },
        });
        if (listed.json<{ items: unknown[] }>().items.length > 0) break;
        if (Date.now() > deadline) throw new Error('the enrollment request was not recorded');
        await new Promise((r) => setTimeout(r, 100));
      }
      await page.reload();
      await page.getByRole('heading', { level: 2, name: 'Clients & onboarding' }).waitFor();
      const request = page.getByTestId('enrollment-console-newcomer');
      await request.waitFor({ timeout: 10_000 });
      await accessible('clients (enrollment)');
      await request.getByRole('button', { name: 'Approve' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
      await request.waitFor({ state: 'detached' });
      const accepted = await newcomer.putCapabilities('n-1', capabilities('n-1'));
      expect(accepted.status, accepted.text()).toBe(201);
    } finally {
      newcomer.close();
    }
  });

  it('creates a token (its secret shown once) and revokes it after confirming', async () => {
    await nav('Tokens', 'Operator tokens');
    await page.getByLabel('Name').fill('console-viewer');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token-secret').textContent())!;
    expect(secret.length).toBeGreaterThan(20);
    const row = page.getByTestId('token-console-viewer');
    await row.waitFor();
    await accessible('tokens');
    await shot('tokens');
    const before = await wfm.call('/operator/v1/me', { headers: { authorization: `Bearer ${secret}` } });
    expect(before.json()).toMatchObject({ name: 'console-viewer', role: 'viewer' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await row.getByText(/revoked/).waitFor();
    const after = await wfm.call('/operator/v1/me', { headers: { authorization: `Bearer ${secret}` } });
    expect(after.status).toBe(401);
  });

  it('follows live events and shows the fleet overview; every page passes axe at tablet width too', async () => {
    await nav('Events', 'Events');
    await page.locator('[data-testid="live"][data-open="true"]').waitFor();
    await device.putCapabilities('paint-8', capabilities('paint-8', {}, { line: 'paint' }));
    await page.getByTestId('events-table').getByText('device.changed').first().waitFor({ timeout: 10_000 });
    await accessible('events');
    await shot('events');
    await nav('Fleet overview', 'Fleet overview');
    await page.getByTestId('overview-devices').getByText('paint-8').waitFor({ timeout: 10_000 });
    await accessible('overview');
    await shot('overview');
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Fleet overview' }).waitFor();
    await accessible('overview-tablet');
    await shot('overview-tablet');
    for (const [label, heading] of [
      ['Devices', 'Devices'],
      ['Packages', 'Packages'],
      ['Deployments', 'Deployments'],
      ['Clients & onboarding', 'Clients & onboarding'],
      ['Tokens', 'Operator tokens'],
      ['Events', 'Events'],
    ]) {
      await nav(label, heading);
      await accessible(`${label} (tablet)`);
    }
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('a viewer sees actions disabled with the reason', async () => {
    const token = await wfm.call('/operator/v1/tokens', {
      method: 'POST',
      headers: { authorization: `Bearer ${wfm.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'console-read-only', role: 'viewer' }),
    });
    const viewer = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    const tab = await viewer.newPage();
    await tab.goto(`${wfm.url}/console/packages`);
    await tab.getByLabel('Operator token').fill(token.json<{ token: string }>().token);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('heading', { level: 2, name: 'Packages' }).waitFor();
    expect(await tab.getByTestId('role').textContent()).toBe('viewer');
    expect(await tab.getByRole('button', { name: 'Upload margo.yaml' }).isDisabled()).toBe(true);
    await tab.getByText('Needs the operator role (you are signed in as viewer)').first().waitFor();
    await viewer.close();
  });
});
