import type { ResponseView } from './context.js';
import { problemShape } from './spec-rules.js';

/**
 * The known-deviation table of `reference/margo/ctt/README.md`: steps of
 * `diamond-subset.json` that expect Symphony-specific answers contradicting the specification or
 * the project's decisions. For these the runner checks the project's answer instead of the
 * scenario's expectation and reports DEVIATION when it holds (FAIL otherwise).
 */
export interface KnownDeviation {
  scenarioExpects: string;
  projectAnswers: string;
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

export const KNOWN_DEVIATIONS: Readonly<Record<string, KnownDeviation>> = {
  'step-1.3': {
    scenarioExpects: '409 with a field `Error` containing "Device signature"',
    projectAnswers: '409 problem+json whose detail names the duplicate certificate',
    check: (res) => problem(res, 409, { mention: 'certificate' }),
  },
  'step-2.1': {
    scenarioExpects: '201 with a field `message` containing "successfully"',
    projectAnswers: '201 (body not checked)',
    check: (res) => status(res, 201),
  },
  'step-2.2': {
    scenarioExpects: '201 with a field `message` containing "successfully"',
    projectAnswers: '201 (body not checked)',
    check: (res) => status(res, 201),
  },
  'step-3.7': {
    scenarioExpects: '200 with {"acknowledgement": "received"}',
    projectAnswers: '200 (body not checked)',
    check: (res) => status(res, 200),
  },
  'step-4.1': {
    scenarioExpects: '400 with a field `Error` containing "API version"',
    projectAnswers: '400 problem+json #invalid-request naming apiVersion',
    check: (res) => problem(res, 400, { type: 'invalid-request', mention: 'apiVersion' }),
  },
  'step-5.6': {
    scenarioExpects: '400 "missing signature headers"',
    projectAnswers: '401 problem+json',
    check: (res) => problem(res, 401),
  },
  'step-6.2': {
    scenarioExpects: '500 with "accept header"',
    projectAnswers: '406 problem+json #server-cannot-generate-response',
    check: (res) => problem(res, 406, { type: 'server-cannot-generate-response' }),
  },
  'step-6.5': {
    scenarioExpects: '400 "invalid state"',
    projectAnswers: '422 problem+json #semantic-error with errors[]',
    check: (res) => problem(res, 422, { type: 'semantic-error', errors: true }),
  },
};
