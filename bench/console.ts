/**
 * Benchmark: the operator console's device list in Chromium against 100,000 devices (issue 19).
 *
 * The service (api and worker) with `--inventory` devices of 1,000 clients seeded by SQL (the
 * inventory of the capabilities bench). Measured, `--repeats` times each, one at a time:
 * (a) navigation to /console/devices in a fresh browser context (cold cache, already signed in: the
 *     token is put in sessionStorage before the page loads) until the first page of the device list
 *     is rendered;
 * (b) a filtered page: a label filter (site=plant-N) typed into the page, from the click on Filter
 *     until every rendered row carries that label;
 * beside the same API calls alone (GET /operator/v1/devices?limit=50, with and without the label),
 * made from this process over kept-alive HTTPS. Target: (a) and (b) ≤ 1 s.
 *
 *   npx tsc -p bench/tsconfig.json && node dist-bench/bench/console.js [--inventory 100000] [--repeats 7]
 *     [--no-readme]
 *
 * Needs the built console (`npm run build`: dist/console), Debian's Chromium (CHROMIUM_PATH, default
 * /usr/bin/chromium), PostgreSQL and Redis on loopback; creates and drops its own database.
 */
import { chromium } from 'playwright-core';
import { benchCli, count } from './lib/cli.js';
import { seedInventory } from './lib/capabilities-inventory.js';
import { Harness } from './lib/harness.js';
import { percentile } from './lib/load.js';
import { fmt, ms, table } from './lib/report.js';

const { args, command: COMMAND } = benchCli('console', {
  inventory: { type: 'string', default: '100000' },
  repeats: { type: 'string', default: '7' },
  /** Write bench/results/ only, leave bench/README.md as it is. */
  'no-readme': { type: 'boolean', default: false },
});
const INVENTORY = count('inventory', args.inventory, 1_000_000);
const REPEATS = count('repeats', args.repeats, 100);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SECTION = '## Operator console: device list in Chromium (100,000 devices)';
const PAGE = 50;

const h = new Harness('console', 900);

function summary(samples: number[]): { p50: number; min: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), min: sorted[0] ?? NaN, max: sorted[sorted.length - 1] ?? NaN };
}

await h.run(async () => {
  h.log(`starting the service (database ${h.dbName})`);
  const { ready } = await h.startService({ name: 'api', roles: 'api,worker' });
  const wfm = ready!;
  const tls = await h.tlsFiles(wfm);
  h.log(`seeding ${fmt(INVENTORY)} devices with SQL`);
  const seeded = await seedInventory(h, INVENTORY);
  h.log(`seeded in ${seeded.seconds.toFixed(1)} s`);
  const label = (i: number) => `site=plant-${(i * 7) % 50}`;

  const api = { first: [] as number[], filtered: [] as number[] };
  const timeApi = async (path: string) => {
    const t0 = performance.now();
    const res = await h.operator(wfm, tls, 'GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
    return performance.now() - t0;
  };
  await timeApi(`/operator/v1/devices?limit=${PAGE}`); // warm-up
  for (let i = 0; i < REPEATS; i++) {
    api.first.push(await timeApi(`/operator/v1/devices?limit=${PAGE}`));
    api.filtered.push(
      await timeApi(`/operator/v1/devices?limit=${PAGE}&label=${encodeURIComponent(label(i))}`),
    );
  }

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const ui = { first: [] as number[], filtered: [] as number[] };
  let timeline: string[] = [];
  try {
    for (let i = -1; i < REPEATS; i++) {
      // a fresh context per run: cold HTTP cache; the first run (i = -1) warms the service only
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1280, height: 800 },
      });
      await context.addInitScript(
        (token) => sessionStorage.setItem('wfm.operatorToken', token),
        wfm.adminToken,
      );
      const page = await context.newPage();
      const rows = page.getByTestId('devices-table').locator('tbody tr');
      const t0 = performance.now();
      await page.goto(`${wfm.url}/console/devices`);
      await rows
        .first()
        .waitFor({ timeout: 30_000 })
        .catch(async (error: unknown) => {
          await page.screenshot({ path: `${h.resultsDir}/console-${h.stamp}-failed.png` });
          throw error;
        });
      const first = performance.now() - t0;
      if (i === REPEATS - 1) {
        // where the time of the last navigation went, from the page's own clock
        timeline = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          const entries = [
            ['index.html', nav.requestStart, nav.responseEnd] as const,
            ...performance
              .getEntriesByType('resource')
              .map((e) => [new URL(e.name).pathname, e.startTime, e.startTime + e.duration] as const),
          ];
          return entries.map(([name, start, end]) => `${name} ${Math.round(start)}–${Math.round(end)} ms`);
        });
        timeline.push(`first page rendered at ${Math.round(first)} ms after goto()`);
      }
      await page.getByLabel('Labels').fill(label(i + 1));
      const t1 = performance.now();
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForFunction(
        (wanted) => {
          const list = [...document.querySelectorAll('[data-testid="devices-table"] tbody tr')];
          return (
            list.length > 0 &&
            list.every((row) =>
              [...row.querySelectorAll('.mantine-Badge-root')].some((b) => b.textContent === wanted),
            )
          );
        },
        label(i + 1),
        { timeout: 30_000 },
      );
      const filtered = performance.now() - t1;
      if (i >= 0) {
        ui.first.push(first);
        ui.filtered.push(filtered);
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }

  const row = (name: string, samples: number[], apiSamples: number[]) => {
    const s = summary(samples);
    const a = summary(apiSamples);
    return [name, ms(s.p50), `${ms(s.min)}–${ms(s.max)}`, ms(a.p50), s.p50 <= 1000 ? 'yes' : 'no'];
  };
  const lines = [
    `Measured ${h.started.toISOString().slice(0, 10)} with \`${COMMAND}\`.`,
    '',
    `${fmt(INVENTORY)} devices of 1,000 clients seeded by SQL (the capabilities bench's inventory). ` +
      `Each figure is the median of ${REPEATS} runs, one at a time; the browser is headless Debian Chromium ` +
      `(playwright-core) in a fresh context per run (cold cache, signed in through sessionStorage). ` +
      `"API alone" is the same GET /operator/v1/devices?limit=${PAGE} (with the label for the filtered page) from Node ` +
      `over a kept-alive HTTPS connection.`,
    '',
    table(
      ['Step', 'Console p50 ms', 'min–max ms', 'API alone p50 ms', '≤ 1 s'],
      [
        row('navigation → first page of the device list', ui.first, api.first),
        row('Filter (label) → filtered page rendered', ui.filtered, api.filtered),
      ],
      ['l', 'r', 'r', 'r', 'l'],
    ),
    '',
    'The navigation includes loading the console (index.html, the initial JavaScript and CSS, then the ' +
      'devices page chunk), GET /operator/v1/me, the stream token and the list call. The last run, by the ' +
      "page's clock (start–end of each request after navigation start):",
    '',
    ...timeline.map((line) => `- ${line}`),
    '',
    '### Machine',
    '',
    ...h.machineLines(COMMAND),
  ];
  await h.publish({
    name: 'console',
    heading: 'Console benchmark',
    section: lines.join('\n'),
    readmeSection: args['no-readme'] ? undefined : SECTION,
  });
});
