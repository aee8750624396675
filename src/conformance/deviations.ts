import type { ResponseView } from './context.js';
import { problemShape } from './spec-rules.js';

/**
 * The known-deviation table of `reference/margo/ctt/README.md`: steps of the diamond scenarios
 * (`diamond-subset.json` and the full upstream `diamond-test-scenarios.json`) that expect answers of
 * the Symphony-based reference WFM contradicting the specification or the project's decisions
 * (docs/spec-decisions.md). For these the runner checks the project's answer instead of the
 * scenario's expectation and reports DEVIATION when it holds (FAIL otherwise).
 */
export interface KnownDeviation {
  scenarioExpects: string;
  projectAnswers: string;
  /** Why: the section of the specification, the OpenAPI document, RFC or D-number the answer follows. */
  reason: string;
  /** Broken expectations of the project's answer (empty = it holds). */
  check(res: ResponseView): string[];
}

const MARGO_PROBLEMS = 'https://docs.margo.org/specification/problem-types';

function status(res: ResponseView, expected: number): string[] {
  return res.status === expected ? [] : [`expected HTTP ${expected} (known deviation), got ${res.status}`];
}

function field(res: ResponseView, name: string): unknown {
  const doc = res.json;
  return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[name] : undefined;
}

/** `status` problem+json, optionally of a Margo problem type and with a `detail` naming `mention`. */
function problem(
  res: ResponseView,
  expected: number,
  options: { type?: string; mention?: string; errors?: boolean } = {},
): string[] {
  const broken = status(res, expected);
  if (broken.length > 0) return broken;
  broken.push(...problemShape(res));
  if (options.type !== undefined && field(res, 'type') !== `${MARGO_PROBLEMS}#${options.type}`) {
    broken.push(`the problem type is ${JSON.stringify(field(res, 'type'))}, not #${options.type}`);
  }
  const detail = field(res, 'detail');
  if (
    options.mention !== undefined &&
    (typeof detail !== 'string' || !detail.toLowerCase().includes(options.mention.toLowerCase()))
  ) {
    broken.push(`the problem's detail ${JSON.stringify(detail ?? null)} does not name ${options.mention}`);
  }
  const errors = field(res, 'errors');
  if (options.errors === true && (!Array.isArray(errors) || errors.length === 0)) {
    broken.push('the problem has no errors[]');
  }
  return broken;
}

/** The legacy OpenAPI document the diamond scenarios' routes come from. */
const LEGACY_OPENAPI = 'the legacy OpenAPI (workload-management-api-1.0.0.yaml)';
const PROBLEM_BODY = 'errors are RFC 9457 problem+json in both profiles (D1), not a field `Error`';

export const KNOWN_DEVIATIONS: Readonly<Record<string, KnownDeviation>> = {
  'step-1.3': {
    scenarioExpects: '409 with a field `Error` containing "Device signature"',
    projectAnswers: '409 problem+json whose detail names the duplicate certificate',
    reason: `an already onboarded certificate is a 409 (D19); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 409, { mention: 'certificate' }),
  },
  'step-2.1': {
    scenarioExpects: '201 with a field `message` containing "successfully"',
    projectAnswers: '201 (body not checked)',
    reason: `${LEGACY_OPENAPI} defines no body for the capabilities 201`,
    check: (res) => status(res, 201),
  },
  'step-2.2': {
    scenarioExpects: '201 with a field `message` containing "successfully"',
    projectAnswers: '201 (body not checked)',
    reason: `${LEGACY_OPENAPI} defines no body for the capabilities 201`,
    check: (res) => status(res, 201),
  },
  'step-3.7': {
    scenarioExpects: '200 with {"acknowledgement": "received"}',
    projectAnswers: '200 (body not checked)',
    reason: `${LEGACY_OPENAPI} defines no body for the status 200; an unknown deployment is an orphan report (D12)`,
    check: (res) => status(res, 200),
  },
  'step-4.1': {
    scenarioExpects: '400 with a field `Error` containing "API version"',
    projectAnswers: '400 problem+json #invalid-request naming apiVersion',
    reason: `the onboarding apiVersion must be onboarding.margo.org/v1alpha1, else 400 #invalid-request (D19); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'apiVersion' }),
  },
  'step-4.2': {
    scenarioExpects: '400 with a field `Error` containing "certificate"',
    projectAnswers: '400 problem+json #invalid-request naming the certificate',
    reason: `${LEGACY_OPENAPI}, POST /api/v1/onboarding: 400 for an invalid certificate; ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'certificate' }),
  },
  'step-4.3': {
    scenarioExpects: '400 with a field `Error` containing "certificate"',
    projectAnswers: '400 problem+json #invalid-request naming the certificate',
    reason: `${LEGACY_OPENAPI}, POST /api/v1/onboarding: 400 for an invalid certificate; ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'certificate' }),
  },
  'step-4.5': {
    scenarioExpects: '400 with a field `Error` containing "kind"',
    projectAnswers: '400 problem+json #invalid-request naming kind',
    reason: `the onboarding kind must be OnboardingRequest (${LEGACY_OPENAPI}, enum; D19); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'kind' }),
  },
  'step-4.6': {
    scenarioExpects: '400 with a field `Error` containing "kind"',
    projectAnswers: '400 problem+json #invalid-request naming kind',
    reason: `the onboarding kind must be OnboardingRequest (${LEGACY_OPENAPI}, enum; D19); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'kind' }),
  },
  'step-5.1': {
    scenarioExpects: '400 with a field `Error` containing "device ID"',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming /properties',
    reason: `${LEGACY_OPENAPI}: 422 for a semantic error in the body, 400 only for the Content-Digest; a missing required field is 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'properties', errors: true }),
  },
  'step-5.2': {
    scenarioExpects: '201 for the role "Unknown Role"',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming /properties/roles/0',
    reason: `${LEGACY_OPENAPI}, Properties.roles: MUST be one of its four roles; a wrong enumeration value is 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'roles', errors: true }),
  },
  'step-5.3': {
    scenarioExpects: '201 for the interface type "serial"',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming the interface type',
    reason: `${LEGACY_OPENAPI}, DeviceCommunicationInterface.type: "serial" is not in its enumeration; 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'interfaces', errors: true }),
  },
  'step-5.4': {
    scenarioExpects: '201 for the CPU architecture "sparc"',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming the architecture',
    reason: `${LEGACY_OPENAPI}, the CPU architecture enumeration has no "sparc"; 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'architecture', errors: true }),
  },
  'step-5.5': {
    scenarioExpects: '201 with an empty Content-Digest header',
    projectAnswers: '400 problem+json naming Content-Digest',
    reason: `${LEGACY_OPENAPI}: 400 for a missing or invalid content-digest header; RFC 9530 (D1)`,
    check: (res) => problem(res, 400, { mention: 'Content-Digest' }),
  },
  'step-5.6': {
    scenarioExpects: '400 "missing signature headers"',
    projectAnswers: '401 problem+json',
    reason: `${LEGACY_OPENAPI}: 401 when the signature does not verify (RFC 9421, D19); 400 is for the Content-Digest`,
    check: (res) => problem(res, 401),
  },
  'step-5.7': {
    scenarioExpects: '400 with a field `Error` containing "not found"',
    projectAnswers: '404 problem+json naming the unknown client',
    reason: `${LEGACY_OPENAPI}: 404 when no client with the given clientId was found`,
    check: (res) => problem(res, 404, { mention: 'not-a-real-client' }),
  },
  'step-6.2': {
    scenarioExpects: '500 with "accept header"',
    projectAnswers: '406 problem+json #server-cannot-generate-response',
    reason: `${LEGACY_OPENAPI}, GET deployments: 406 when the Accept header cannot be served (D10)`,
    check: (res) => problem(res, 406, { type: 'server-cannot-generate-response' }),
  },
  'step-6.4': {
    scenarioExpects: '404 with a field `Error`',
    projectAnswers: '404 problem+json',
    reason: `${LEGACY_OPENAPI}: 404 for a deployment not found for the digest; a malformed digest is a 404 (D11); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 404),
  },
  'step-6.5': {
    scenarioExpects: '400 "invalid state"',
    projectAnswers: '422 problem+json #semantic-error with errors[]',
    reason: `${LEGACY_OPENAPI}, status: 422 for a semantic error; a wrong enumeration value is 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', errors: true }),
  },
  'step-6.6': {
    scenarioExpects: '400 with a field `Error`',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming the component name',
    reason: `${LEGACY_OPENAPI}, status: 422 for a semantic error; a missing required field is 422 (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'name', errors: true }),
  },
  'step-6.7': {
    scenarioExpects: '400 with a field `Error`',
    projectAnswers: '422 problem+json #semantic-error naming deploymentId',
    reason: `a body/path deploymentId mismatch is 422 (D12; ${LEGACY_OPENAPI}, status: 422 for a semantic error)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'deploymentId', errors: true }),
  },
  'step-6.8': {
    scenarioExpects: '400 with a field `Error`',
    projectAnswers: '400 problem+json naming Content-Digest',
    reason: `${LEGACY_OPENAPI}, status: 400 for a missing or invalid content-digest header (RFC 9530); ${PROBLEM_BODY}`,
    check: (res) => problem(res, 400, { mention: 'Content-Digest' }),
  },
  'step-6.9': {
    scenarioExpects: '400 "missing signature headers"',
    projectAnswers: '401 problem+json',
    reason: `${LEGACY_OPENAPI}, status: 401 when the signature does not verify (RFC 9421, D19); 400 is for the Content-Digest`,
    check: (res) => problem(res, 401),
  },
  'step-6.10': {
    scenarioExpects: '400 "missing signature headers"',
    projectAnswers: '401 problem+json',
    reason:
      'an unsigned request is an authentication failure, 401 as on every signed legacy route (RFC 9421, D19)',
    check: (res) => problem(res, 401),
  },
  'step-7.1': {
    scenarioExpects: '400 with a field `Error`',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming /apiVersion',
    reason: `${LEGACY_OPENAPI}, DeviceCapabilitiesManifest requires apiVersion; a missing required field is 422, 400 is for the Content-Digest (D2)`,
    check: (res) => problem(res, 422, { type: 'semantic-error', mention: 'apiVersion', errors: true }),
  },
  // multi-component-deployment.json, step 4 ("Report Deployment Status: installed").
  'e9089cb2-d210-4434-b736-5cc1f61d2d07': {
    scenarioExpects: '200 for a report whose adoptedManifestVersion is the string "{manifestVersion}"',
    projectAnswers: '422 problem+json #semantic-error with errors[] naming adoptedManifestVersion',
    reason:
      'the upstream runner substitutes placeholders as strings; the rc.3 OpenAPI ' +
      '(workload-management-api-1.0.0-rc.3.yaml, ManifestVersion) makes adoptedManifestVersion a number, ' +
      'a JSON integer (D7); a wrong type is 422 (D2)',
    check: (res) =>
      problem(res, 422, { type: 'semantic-error', mention: 'adoptedManifestVersion', errors: true }),
  },
};
