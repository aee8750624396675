import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConformanceReport, runConformance } from '../../src/conformance/index.js';
import { devIssuer } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

const CTT = resolve(import.meta.dirname, '../../../shared/reference/margo/ctt');
const SCENARIO_FILES = [`${CTT}/wfm-core.json`, `${CTT}/diamond-subset.json`];

/** Served today: they must be PASS or DEVIATION (NOT-YET would be a FAIL for them). */
const REQUIRED_NOW = [
  // enrollment (issue 3/4)
  'step-1.1',
  'step-1.2',
  'step-1.3',
  'step-2.0',
  'step-3.0',
  'step-4.1',
  'step-5.6',
  'step-6.0',
  'step-6.11',
  'x-tamper',
  'x-fresh',
  // device capabilities (issue 5)
  'wfm-core-cap-1',
  'wfm-core-cap-2',
  'wfm-core-cap-3',
  'wfm-core-cap-4',
  'step-2.1',
  'step-2.2',
  // deployment specs and the state manifest (issue 6)
  'wfm-core-ds-1',
  'wfm-core-ds-2',
  'wfm-core-ds-3',
  'step-3.1',
  'step-3.2',
  'step-3.3',
  'step-3.4',
  'step-3.5',
  'step-3.6',
  'step-6.2',
  'step-6.3',
  // deployment status (issue 7)
  'wfm-core-status-1',
  'step-3.7',
  'step-6.5',
];

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

  it('passes the steps the service already serves', () => {
    for (const id of REQUIRED_NOW) {
      const result = report.results.find((r) => r.stepId === id);
      expect(result, id).toBeDefined();
      expect(['PASS', 'DEVIATION'], `${id}: ${result?.detail}`).toContain(result?.outcome);
    }
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
