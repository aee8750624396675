import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceReport, runConformance } from '../../src/conformance/index.js';
import { DEFAULT_REQUIRED } from '../../src/conformance/runner.js';
import { devIssuer } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

const CTT = resolve(import.meta.dirname, '../../reference/margo/ctt');
const SCENARIO_FILES = [`${CTT}/wfm-core.json`, `${CTT}/diamond-subset.json`];

describe('conformance runner against the real service', () => {
  let wfm: TestService;
  let report: ConformanceReport;
  const lines: string[] = [];

  beforeAll(async () => {
    wfm = await startTestService({ WFM_ONBOARDING_MODE: 'auto' });
    report = await runConformance({
      baseUrl: wfm.url,
      ca: wfm.serverCa,
      scenarioFiles: SCENARIO_FILES,
      adminToken: wfm.adminToken,
      svidIssuer: await devIssuer(wfm),
      log: (line) => lines.push(line),
    });
    if (process.env.CONFORMANCE_PRINT) console.log(lines.join('\n'));
  });
  afterAll(async () => {
    await wfm?.stop();
  });

  it('runs every step of both files and fails none', () => {
    expect(report.results).toHaveLength(31);
    const failures = report.results
      .filter((r) => r.outcome === 'FAIL')
      .map((r) => `${r.stepId}: ${r.detail}`);
    expect(failures).toEqual([]);
    expect(report.failed).toBe(0);
  });

  it('passes every step or answers as the deviation table says (nothing NOT-YET), all of them required', () => {
    expect(new Set(DEFAULT_REQUIRED)).toEqual(new Set(report.results.map((r) => r.stepId)));
    for (const result of report.results) {
      expect(['PASS', 'DEVIATION'], `${result.stepId}: ${result.detail}`).toContain(result.outcome);
    }
    expect(report.notYet).toBe(0);
    const outcome = (id: string) => report.results.find((r) => r.stepId === id)?.outcome;
    expect(outcome('step-1.3')).toBe('DEVIATION');
    expect(outcome('step-4.1')).toBe('DEVIATION');
    expect(outcome('step-5.6')).toBe('DEVIATION');
  });

  it('prints one line per step and the closing count', () => {
    expect(lines).toHaveLength(report.results.length + 1);
    expect(lines[0]).toMatch(/^(PASS|FAIL|DEVIATION|NOT-YET) wfm-core-capabilities\/wfm-core-cap-1 — /);
    const closing = `${report.passed} passed, 0 failed${report.notYet > 0 ? `, ${report.notYet} not yet` : ''}`;
    expect(lines.at(-1)).toBe(closing);
    expect(report.passed + report.failed + report.notYet).toBe(report.results.length);
  });
});
