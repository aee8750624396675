import { readFile } from 'node:fs/promises';

/**
 * The public scenario format of the Margo conformance toolkit's WFM-supplier runner
 * (`reference/margo/ctt/README.md`): an array of scenarios, each a list of steps the runner
 * plays against a WFM as a device would.
 */

/**
 * The scenario files `npm run conformance` runs by default, relative to `reference/margo/ctt/`: the
 * five upstream files, unedited (64 steps), then the project's own trimmed copies `wfm-core.json` and
 * `diamond-subset.json`.
 */
export const DEFAULT_SCENARIO_FILES: readonly string[] = [
  'upstream/wfm-core.json',
  'upstream/header-integrity.json',
  'upstream/multi-component-deployment.json',
  'upstream/core.json',
  'upstream/diamond-test-scenarios.json',
  'wfm-core.json',
  'diamond-subset.json',
];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Validation {
  /** Dotted path into the JSON body (`deployments.0.digest`), `_headers.<Name>` or `_body`. */
  field?: string;
  operation: string;
  value?: Json;
}

export interface PollOptions {
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Validations that must all hold (besides the expected status) before polling stops. */
  until: Validation[];
}

export interface Step {
  id: string;
  name: string;
  method: string;
  endpoint: string;
  headers: Record<string, string>;
  /** Absent for requests without a body. */
  requestBody?: Json;
  expectedStatus: number;
  /** Statuses accepted besides `expectedStatus` (scenario validations then do not apply). */
  acceptedStatuses: number[];
  validations: Validation[];
  /** `{contextName: 'dotted.field'}`, read from the response when the expected status arrives. */
  extractContext: Record<string, string>;
  skipSigning: boolean;
  skipContentDigest: boolean;
  tamperSignature: boolean;
  freshCert: boolean;
  skipCertificateInjection: boolean;
  mtls: boolean;
  poll?: PollOptions;
}

export interface Scenario {
  id: string;
  name: string;
  steps: Step[];
  /** The file the scenario came from (for messages). */
  source: string;
}

export class ScenarioFormatError extends Error {
  constructor(source: string, where: string, problem: string) {
    super(`${source}: ${where}: ${problem}`);
    this.name = 'ScenarioFormatError';
  }
}

const DEFAULT_POLL: PollOptions = { intervalSeconds: 0.5, timeoutSeconds: 10, until: [] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and checks one scenario file. */
export async function loadScenarioFile(file: string): Promise<Scenario[]> {
  const text = await readFile(file, 'utf8');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ScenarioFormatError(file, 'file', `not JSON (${(error as Error).message})`);
  }
  return parseScenarios(data, file);
}

/** Checks the shape of parsed scenario data and returns it typed, with defaults filled in. */
export function parseScenarios(data: unknown, source = 'scenarios'): Scenario[] {
  if (!Array.isArray(data)) throw new ScenarioFormatError(source, 'file', 'expected an array of scenarios');
  return data.map((raw, index) => {
    const where = `scenario #${index + 1}`;
    if (!isRecord(raw)) throw new ScenarioFormatError(source, where, 'expected an object');
    const id = requireString(raw, 'id', source, where);
    if (!Array.isArray(raw.steps)) throw new ScenarioFormatError(source, id, '`steps` must be an array');
    return {
      id,
      name: optionalString(raw, 'name', source, id) ?? id,
      steps: raw.steps.map((step, i) => parseStep(step, source, `${id} step #${i + 1}`)),
      source,
    };
  });
}

function parseStep(raw: unknown, source: string, where: string): Step {
  if (!isRecord(raw)) throw new ScenarioFormatError(source, where, 'expected an object');
  const id = requireString(raw, 'id', source, where);
  const at = `${where} (${id})`;
  const expectedStatus = raw.expected_status;
  if (typeof expectedStatus !== 'number' || !Number.isInteger(expectedStatus)) {
    throw new ScenarioFormatError(source, at, '`expected_status` must be an integer');
  }
  return {
    id,
    name: optionalString(raw, 'name', source, at) ?? id,
    method: (optionalString(raw, 'method', source, at) ?? 'GET').toUpperCase(),
    endpoint: requireString(raw, 'endpoint', source, at),
    headers: stringRecord(raw.headers, 'headers', source, at),
    ...(raw.request_body !== undefined && raw.request_body !== null
      ? { requestBody: raw.request_body as Json }
      : {}),
    expectedStatus,
    acceptedStatuses: integerList(raw.accepted_statuses, source, at),
    validations: validations(raw.validations, source, at),
    extractContext: stringRecord(raw.extract_context, 'extract_context', source, at),
    skipSigning: flag(raw, 'skip_signing', source, at),
    skipContentDigest: flag(raw, 'skip_content_digest', source, at),
    tamperSignature: flag(raw, 'tamper_signature', source, at),
    freshCert: flag(raw, 'fresh_cert', source, at),
    skipCertificateInjection: flag(raw, 'skip_certificate_injection', source, at),
    mtls: flag(raw, 'mtls', source, at),
    ...pollOption(raw.poll, source, at),
  };
}

function requireString(raw: Record<string, unknown>, key: string, source: string, where: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value === '') {
    throw new ScenarioFormatError(source, where, `\`${key}\` must be a non-empty string`);
  }
  return value;
}

function optionalString(
  raw: Record<string, unknown>,
  key: string,
  source: string,
  where: string,
): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ScenarioFormatError(source, where, `\`${key}\` must be a string`);
  return value;
}

function flag(raw: Record<string, unknown>, key: string, source: string, where: string): boolean {
  const value = raw[key];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new ScenarioFormatError(source, where, `\`${key}\` must be a boolean`);
  }
  return value;
}

function stringRecord(value: unknown, key: string, source: string, where: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw new ScenarioFormatError(source, where, `\`${key}\` must map names to strings`);
  }
  return value as Record<string, string>;
}

function integerList(value: unknown, source: string, where: string): number[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isInteger(v))) {
    throw new ScenarioFormatError(source, where, '`accepted_statuses` must be a list of integers');
  }
  return value as number[];
}

function validations(value: unknown, source: string, where: string): Validation[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ScenarioFormatError(source, where, '`validations` must be a list');
  return value.map((raw, i) => {
    const at = `${where} validation #${i + 1}`;
    if (!isRecord(raw)) throw new ScenarioFormatError(source, at, 'expected an object');
    const operation = requireString(raw, 'operation', source, at);
    const field = optionalString(raw, 'field', source, at);
    return {
      operation,
      ...(field !== undefined ? { field } : {}),
      ...(raw.value !== undefined ? { value: raw.value as Json } : {}),
    };
  });
}

/** `poll: true` or `poll: {interval_seconds, timeout_seconds, until}` (upstream's object form). */
function pollOption(value: unknown, source: string, where: string): { poll?: PollOptions } {
  if (value === undefined || value === null || value === false) return {};
  if (value === true) return { poll: DEFAULT_POLL };
  if (!isRecord(value)) throw new ScenarioFormatError(source, where, '`poll` must be a boolean or an object');
  const seconds = (key: string, fallback: number): number => {
    const v = value[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || v <= 0) {
      throw new ScenarioFormatError(source, where, `\`poll.${key}\` must be a positive number`);
    }
    return v;
  };
  return {
    poll: {
      intervalSeconds: seconds('interval_seconds', DEFAULT_POLL.intervalSeconds),
      timeoutSeconds: seconds('timeout_seconds', DEFAULT_POLL.timeoutSeconds),
      until: validations(value.until, source, `${where} poll.until`),
    },
  };
}
