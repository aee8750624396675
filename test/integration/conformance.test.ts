import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConformanceReport,
  DEFAULT_SCENARIO_FILES,
  KNOWN_DEVIATIONS,
  loadScenarioFile,
  runConformance,
} from '../../src/conformance/index.js';
import { DEFAULT_REQUIRED } from '../../src/conformance/runner.js';
import { devIssuer } from '../support/identities.js';
import { type TestService, startTestService } from '../support/service.js';

const CTT = resolve(import.meta.dirname, '../../reference/margo/ctt');
const SCENARIO_FILES = DEFAULT_SCENARIO_FILES.map((file) => resolve(CTT, file));
const UPSTREAM_FILES = SCENARIO_FILES.filter((file) => file.includes('/upstream/'));
/** A reason names what the answer follows: a D-number, an OpenAPI document, an RFC or a spec section. */
const CITES = /\bD\d+\b|OpenAPI|RFC \d{4}|§\d/;

describe('conformance runner against the real service (the full default run)', () => {
  let wfm: TestService;
  let report: ConformanceReport;
  let upstreamSteps: { scenarioId: string; stepId: string }[];
  const lines: string[] = [];

  beforeAll(async () => {
    upstreamSteps = (await Promise.all(UPSTREAM_FILES.map((file) => loadScenarioFile(file))))
      .flat()
      .flatMap((scenario) => scenario.steps.map((step) => ({ scenarioId: scenario.id, stepId: step.id })));
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
  }, 300_000);
  afterAll(async () => {
    await wfm?.stop();
  });

  it('runs the five upstream files first (64 steps) and the project files after them', () => {
    expect(UPSTREAM_FILES).toHaveLength(5);
    expect(upstreamSteps).toHaveLength(64);
    expect(report.results.slice(0, 64).map((r) => ({ scenarioId: r.scenarioId, stepId: r.stepId }))).toEqual(
      upstreamSteps,
    );
    expect(report.results).toHaveLength(64 + 8 + 23);
  });

  it('fails no step and has nothing NOT-YET', () => {
    const failures = report.results
      .filter((r) => r.outcome !== 'PASS' && r.outcome !== 'DEVIATION')
      .map((r) => `${r.scenarioId}/${r.stepId}: ${r.outcome} ${r.detail}`);
    expect(failures).toEqual([]);
    expect(report.failed).toBe(0);
    expect(report.notYet).toBe(0);
    for (const id of DEFAULT_REQUIRED) {
      expect(
        report.results.map((r) => r.stepId),
        id,
      ).toContain(id);
    }
  });

  it('reports DEVIATION only for tabled steps, each with a reason citing the specification', () => {
    for (const result of report.results.filter((r) => r.outcome === 'DEVIATION')) {
      const deviation = KNOWN_DEVIATIONS[result.stepId];
      expect(deviation, result.stepId).toBeDefined();
      expect(deviation.reason, result.stepId).toMatch(CITES);
    }
    for (const [id, deviation] of Object.entries(KNOWN_DEVIATIONS)) {
      expect(deviation.reason, id).toMatch(CITES);
      expect(
        report.results.some((r) => r.stepId === id && r.outcome === 'DEVIATION'),
        `${id} is tabled but no step used it`,
      ).toBe(true);
    }
    const outcome = (id: string) => report.results.find((r) => r.stepId === id)?.outcome;
    expect(outcome('step-1.3')).toBe('DEVIATION');
    expect(outcome('step-7.1')).toBe('DEVIATION');
  });

  it('automates the multi-component precondition: the placed two-component deployment is served', () => {
    const steps = report.results.filter((r) => r.scenarioId === 'wfm-multi-component-deployment');
    expect(steps.map((r) => r.outcome)).toEqual(['PASS', 'PASS', 'PASS', 'DEVIATION']);
    expect(steps[1].detail).toMatch(/deploymentId=/);
  });

  it('prints one line per step and the closing count', () => {
    expect(lines).toHaveLength(report.results.length + 1);
    expect(lines[0]).toMatch(/^(PASS|FAIL|DEVIATION|NOT-YET) wfm-core-capabilities\/wfm-core-cap-1 — /);
    const closing = `${report.passed} passed, 0 failed${report.notYet > 0 ? `, ${report.notYet} not yet` : ''}`;
    expect(lines.at(-1)).toBe(closing);
    expect(report.passed + report.failed + report.notYet).toBe(report.results.length);
  });
});
