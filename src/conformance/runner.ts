import { setTimeout as sleep } from 'node:timers/promises';
import { signRequest, tamperSignature } from '../client/http-signature-signer.js';
import type { SvidIssuer } from '../client/identities.js';
import { request, type RawResponse } from '../client/transport.js';
import { contentDigestHeader } from '../common/http-signatures/content-digest.js';
import {
  fallbackValue,
  placeholdersIn,
  ScenarioContext,
  substitute,
  viewOf,
  type ResponseView,
} from './context.js';
import { KNOWN_DEVIATIONS, type KnownDeviation } from './deviations.js';
import {
  type DeviceIdentity,
  injectCertificate,
  mintDevice,
  mintSvid,
  type MtlsIdentity,
  type SvidIssuerOption,
  toSvidIssuer,
} from './identity.js';
import { type Precondition, PRECONDITIONS } from './preconditions.js';
import { loadScenarioFile, type Json, type Scenario, type Step } from './scenario.js';
import { checkSpecRules, mediaTypeOf, PROBLEM_MEDIA_TYPE } from './spec-rules.js';
import { checkValidation } from './validations.js';

export type Outcome = 'PASS' | 'FAIL' | 'DEVIATION' | 'NOT-YET';

export interface StepResult {
  scenarioId: string;
  stepId: string;
  name: string;
  outcome: Outcome;
  detail: string;
  method: string;
  /** The endpoint as sent (placeholders filled). */
  endpoint: string;
  /** The HTTP status, when a response arrived. */
  status?: number;
  required: boolean;
}

export interface ConformanceOptions {
  /** The WFM's base URL; it may carry a path prefix (endpoints are appended verbatim). */
  baseUrl: string;
  /** Trust anchors (PEM) for the WFM's server certificate; without them the certificate is not verified. */
  ca?: string;
  scenarioFiles: string[];
  /** An operator token: rc.3 clients minted for `mtls` steps are accepted through the operator API. */
  adminToken?: string;
  /** Issues the rc.3 client SVIDs for `mtls` steps (without it those steps fail). */
  svidIssuer?: SvidIssuerOption;
  /** Step ids (`step-1.2` or `<scenario-id>/<step-id>`) for which NOT-YET counts as FAIL. */
  required?: string[];
  /** Receives one line per step and the closing line (default: stdout). */
  log?: (line: string) => void;
}

export interface ConformanceReport {
  results: StepResult[];
  /** PASS and DEVIATION steps. */
  passed: number;
  failed: number;
  notYet: number;
}

/** The steps that must be served today (NOT-YET counts as FAIL for them). */
export const DEFAULT_REQUIRED: readonly string[] = [
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

/** The device-API fallback's answer for an authenticated request to a route that is not built yet. */
const NOT_BUILT_DETAIL = 'No such route';

export function formatResult(result: StepResult): string {
  return `${result.outcome} ${result.scenarioId}/${result.stepId} — ${result.detail}`;
}

export function formatSummary(report: Omit<ConformanceReport, 'results'>): string {
  const notYet = report.notYet > 0 ? `, ${report.notYet} not yet` : '';
  return `${report.passed} passed, ${report.failed} failed${notYet}`;
}

/**
 * Runs scenario files against a WFM as a device would, and reports PASS, FAIL, DEVIATION (a known
 * deviation whose project answer holds) or NOT-YET (the route is not built yet) for every step.
 */
export async function runConformance(options: ConformanceOptions): Promise<ConformanceReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const scenarios = (await Promise.all(options.scenarioFiles.map((file) => loadScenarioFile(file)))).flat();
  const issuer = options.svidIssuer === undefined ? undefined : await toSvidIssuer(options.svidIssuer);
  const required = new Set(options.required ?? DEFAULT_REQUIRED);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  const results: StepResult[] = [];
  for (const scenario of scenarios) {
    const run = new ScenarioRun(scenario, { ...options, baseUrl }, issuer, await mintDevice(scenario.id));
    for (const step of scenario.steps) {
      const isRequired = required.has(step.id) || required.has(`${scenario.id}/${step.id}`);
      const result = await run.step(step, isRequired);
      results.push(result);
      log(formatResult(result));
    }
  }
  const count = (...outcomes: Outcome[]) => results.filter((r) => outcomes.includes(r.outcome)).length;
  const report = {
    results,
    passed: count('PASS', 'DEVIATION'),
    failed: count('FAIL'),
    notYet: count('NOT-YET'),
  };
  log(formatSummary(report));
  return report;
}

type Verdict = Pick<StepResult, 'outcome' | 'detail' | 'status'>;

/** One scenario's state: its context, its device identity, and its rc.3 identity once needed. */
class ScenarioRun {
  private readonly context = new ScenarioContext();
  private svid?: Promise<MtlsIdentity>;

  constructor(
    private readonly scenario: Scenario,
    private readonly options: ConformanceOptions,
    private readonly issuer: SvidIssuer | undefined,
    private readonly device: DeviceIdentity,
  ) {}

  async step(step: Step, required: boolean): Promise<StepResult> {
    const values = new Map(this.context.values);
    let verdict: Verdict | undefined = this.missingContext(step, values);
    const endpoint = substitute(step.endpoint, values);
    const precondition = PRECONDITIONS[this.scenario.id];
    if (verdict === undefined && precondition?.beforeStep === step.id) {
      verdict = await this.runPrecondition(precondition);
    }
    if (verdict === undefined) {
      try {
        verdict = await this.execute(step, endpoint, values);
      } catch (error) {
        verdict = { outcome: 'FAIL', detail: `${step.method} ${endpoint}: ${describe(error)}` };
      }
    }
    if (verdict.outcome === 'NOT-YET' && required) {
      verdict = { ...verdict, outcome: 'FAIL', detail: `required, but not served yet: ${verdict.detail}` };
    }
    this.context.declare(step.extractContext, { stepId: step.id, outcome: verdict.outcome });
    return {
      scenarioId: this.scenario.id,
      stepId: step.id,
      name: step.name,
      method: step.method,
      endpoint,
      required,
      ...verdict,
    };
  }

  /**
   * Does the operator's part the scenario assumes (with an operator token; without one it is left to
   * a human, as upstream does). A failure fails the step it precedes.
   */
  private async runPrecondition(precondition: Precondition): Promise<Verdict | undefined> {
    const adminToken = this.options.adminToken;
    if (adminToken === undefined) return undefined;
    try {
      const { clientId } = await this.mtlsIdentity();
      await precondition.run({ baseUrl: this.options.baseUrl, ca: this.options.ca, adminToken, clientId });
      return undefined;
    } catch (error) {
      return { outcome: 'FAIL', detail: `precondition (${precondition.summary}) failed: ${describe(error)}` };
    }
  }

  /**
   * Placeholders without a value: NOT-YET when the step that should have extracted it was NOT-YET,
   * FAIL when it failed; a well-formed stand-in when it ran fine but the field was legitimately
   * absent (a manifest without deployments); left as written when no earlier step declares it.
   */
  private missingContext(step: Step, values: Map<string, string>): Verdict | undefined {
    const names = placeholdersIn(step.endpoint);
    for (const value of Object.values(step.headers)) placeholdersIn(value, names);
    placeholdersIn(step.requestBody, names);
    for (const name of names) {
      if (values.has(name)) continue;
      const provider = this.context.provider(name);
      if (provider === undefined) continue;
      if (provider.outcome === 'NOT-YET') {
        return {
          outcome: 'NOT-YET',
          detail: `needs {${name}} from ${provider.stepId}, which is not served yet`,
        };
      }
      if (provider.outcome === 'FAIL') {
        return {
          outcome: 'FAIL',
          detail: `not run: needs {${name}}, which ${provider.stepId} (FAIL) did not provide`,
        };
      }
      const fallback = fallbackValue(name);
      if (fallback !== undefined) values.set(name, fallback);
    }
    return undefined;
  }

  private async execute(step: Step, endpoint: string, values: Map<string, string>): Promise<Verdict> {
    const signer = step.freshCert ? await mintDevice(`${this.scenario.id}-fresh`) : this.device;
    const svid = step.mtls ? await this.mtlsIdentity() : undefined;
    const deviation = KNOWN_DEVIATIONS[step.id];
    const until = step.poll?.until ?? [];
    const arrived = (res: ResponseView) =>
      (deviation ? deviation.check(res).length === 0 : res.status === step.expectedStatus) &&
      until.every((validation) => checkValidation(res, validation, values) === undefined);

    const deadline = Date.now() + (step.poll?.timeoutSeconds ?? 0) * 1000;
    let res: ResponseView | undefined;
    let transportError: unknown;
    for (;;) {
      try {
        res = viewOf(await this.send(step, endpoint, values, signer, svid));
        transportError = undefined;
      } catch (error) {
        transportError = error;
      }
      const done = res !== undefined && transportError === undefined && (notBuilt(res) || arrived(res));
      if (!step.poll || done || Date.now() >= deadline) break;
      await sleep(step.poll.intervalSeconds * 1000);
    }
    if (transportError !== undefined || res === undefined) {
      return {
        outcome: 'FAIL',
        detail: `${step.method} ${endpoint}: no response (${describe(transportError)})`,
      };
    }
    return this.judge(step, endpoint, res, deviation, values);
  }

  private judge(
    step: Step,
    endpoint: string,
    res: ResponseView,
    deviation: KnownDeviation | undefined,
    values: ReadonlyMap<string, string>,
  ): Verdict {
    const what = `${step.method} ${endpoint} → ${res.status}`;
    if (notBuilt(res)) {
      return {
        outcome: 'NOT-YET',
        status: res.status,
        detail: `${what}: ${problemDetail(res) ?? 'not built'}`,
      };
    }

    const problems: string[] = [];
    let expectedArrived: boolean;
    if (deviation) {
      problems.push(...deviation.check(res));
      expectedArrived = problems.length === 0;
    } else {
      expectedArrived = res.status === step.expectedStatus;
      if (!expectedArrived && !step.acceptedStatuses.includes(res.status)) {
        const alternatives = step.acceptedStatuses.filter((s) => s !== step.expectedStatus);
        const also = alternatives.length > 0 ? ` (or ${alternatives.join(', ')})` : '';
        const why = problemDetail(res);
        problems.push(`expected HTTP ${step.expectedStatus}${also}${why ? `; the WFM says "${why}"` : ''}`);
      }
      // Scenario validations describe the expected answer, not an accepted alternative (upstream rule).
      if (expectedArrived) {
        for (const validation of step.validations) {
          const broken = checkValidation(res, validation, values);
          if (broken !== undefined) problems.push(broken);
        }
      }
    }
    problems.push(...checkSpecRules(step.method, endpoint, res));

    const extracted = expectedArrived ? this.context.extract(res, step.extractContext) : [];
    if (problems.length > 0) {
      return { outcome: 'FAIL', status: res.status, detail: `${what}: ${[...new Set(problems)].join('; ')}` };
    }
    if (deviation) {
      return {
        outcome: 'DEVIATION',
        status: res.status,
        detail: `${what}: known deviation, the project answers ${deviation.projectAnswers}; the scenario expects ${deviation.scenarioExpects} (why: ${deviation.reason})`,
      };
    }
    const shown = extracted.map((name) => `${name}=${abbreviate(this.context.values.get(name) ?? '')}`);
    return {
      outcome: 'PASS',
      status: res.status,
      detail: shown.length > 0 ? `${what} (${shown.join(', ')})` : what,
    };
  }

  /** Builds, signs (or not) and sends one request of a step; `mtls` steps present `svid` instead of signing. */
  private async send(
    step: Step,
    endpoint: string,
    values: ReadonlyMap<string, string>,
    signer: DeviceIdentity,
    svid: MtlsIdentity | undefined,
  ): Promise<RawResponse> {
    const url = new URL(`${this.options.baseUrl}${endpoint}`);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(step.headers)) {
      headers[name.toLowerCase()] = substitute(value, values);
    }

    let body: Buffer | undefined;
    if (step.requestBody !== undefined) {
      let json: Json = substitute(step.requestBody, values);
      if (!step.skipCertificateInjection) json = injectCertificate(json, signer.certPem);
      body = Buffer.from(JSON.stringify(json));
      headers['content-type'] ??= 'application/json';
    }
    const tls = { ca: this.options.ca, insecure: this.options.ca === undefined };

    if (svid !== undefined) {
      return request(url, {
        method: step.method,
        headers,
        body,
        ...tls,
        cert: svid.certChainPem,
        key: svid.keyPem,
      });
    }
    if (body !== undefined && !step.skipContentDigest) {
      headers['content-digest'] ??= contentDigestHeader(body);
    }
    if (!step.skipSigning) {
      const signed: Record<string, string | undefined> = {
        ...signRequest({
          method: step.method,
          url: url.href,
          headers,
          body: step.skipContentDigest ? undefined : body,
          privateKey: signer.privateKey,
        }),
      };
      for (const [name, value] of Object.entries(step.tamperSignature ? tamperSignature(signed) : signed)) {
        if (value !== undefined) headers[name] = value;
      }
    }
    return request(url, { method: step.method, headers, body, ...tls });
  }

  private mtlsIdentity(): Promise<MtlsIdentity> {
    const issuer = this.issuer;
    if (issuer === undefined) {
      return Promise.reject(new Error('an mtls step needs an SVID issuer (svidIssuer / --ca-key)'));
    }
    this.svid ??= mintSvid(issuer, this.scenario.id, this.options);
    return this.svid;
  }
}

/** The device-API fallback's 404 for a route that does not exist yet. */
function notBuilt(res: ResponseView): boolean {
  return (
    res.status === 404 &&
    mediaTypeOf(res) === PROBLEM_MEDIA_TYPE &&
    (problemDetail(res) ?? '').startsWith(NOT_BUILT_DETAIL)
  );
}

function problemDetail(res: ResponseView): string | undefined {
  const doc = res.json;
  if (typeof doc !== 'object' || doc === null) return undefined;
  const detail = (doc as Record<string, unknown>).detail;
  return typeof detail === 'string' ? detail : undefined;
}

function abbreviate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
