import type { FieldError } from '../../../../common/problem/problem-types.js';
import type { MatchExpression } from '../../packages/domain.js';

/**
 * A deployment's rollout policy (issue 16, item 2), pure: its stored shape, the duration syntax and
 * the validation that answers with a JSON pointer per offending field. No policy = all at once.
 */

/** A wave's selector: labels equal and expressions over labels or reported properties. */
export interface WaveSelector {
  matchLabels?: Record<string, string | number | boolean>;
  labelSelector?: { matchExpressions: MatchExpression[] };
  propertySelector?: { matchExpressions: MatchExpression[] };
}

/** One wave: a number of devices, a share of all targets, the devices a selector picks, or a diverse canary. */
export type WaveSpec =
  { count: number } | { percent: number } | { selector: WaveSelector } | { canary: 'diverse'; count: number };

export const APPROVALS = ['none', 'before-each-wave', 'before-first-wave'] as const;
export type Approval = (typeof APPROVALS)[number];

/** The policy as stored (and shown): durations stay text ("30m"), every member has its value. */
export interface RolloutPolicy {
  waves: WaveSpec[];
  successThreshold: number;
  failureThreshold: number;
  /** null: a wave waits for its gate without a time limit. */
  waveTimeout: string | null;
  pauseBetweenWaves: string;
  approval: Approval;
}

export const POLICY_DEFAULTS = {
  successThreshold: 1,
  failureThreshold: 0,
  waveTimeout: '30m',
  pauseBetweenWaves: '0s',
  approval: 'none',
} as const;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
/** Longest accepted duration: 30 days. */
const MAX_DURATION_MS = 30 * 86_400_000;

/** "1h30m", "30m", "5s", "250ms" → milliseconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(n) * UNIT_MS[unit];
  return total;
}

/** A stored duration in ms (stored policies were validated). */
export function durationMs(text: string | null): number | null {
  return text === null ? null : (parseDuration(text) ?? 0);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

const SELECTOR_KEYS = ['matchLabels', 'labelSelector', 'propertySelector'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'];

function checkExpressions(value: unknown, at: string, pointerKeys: boolean): FieldError[] {
  if (!isObject(value) || !Array.isArray(value.matchExpressions)) {
    return [{ field: at, message: 'must be {matchExpressions: [...]}' }];
  }
  const errors: FieldError[] = [];
  value.matchExpressions.forEach((e: unknown, i) => {
    const where = `${at}/matchExpressions/${i}`;
    if (!isObject(e)) return errors.push({ field: where, message: 'must be an object' });
    if (typeof e.key !== 'string' || e.key === '') {
      errors.push({ field: `${where}/key`, message: 'must be a string' });
    } else if (pointerKeys && !e.key.startsWith('/')) {
      errors.push({ field: `${where}/key`, message: 'must be a JSON pointer such as /vendor' });
    }
    if (typeof e.operator !== 'string' || !OPERATORS.includes(e.operator)) {
      errors.push({ field: `${where}/operator`, message: `must be one of ${OPERATORS.join(', ')}` });
    } else if (['In', 'NotIn'].includes(e.operator) && !(Array.isArray(e.values) && e.values.length > 0)) {
      errors.push({ field: `${where}/values`, message: `${e.operator} needs values` });
    } else if (
      ['Gt', 'Lt'].includes(e.operator) &&
      !(Array.isArray(e.values) && e.values.length === 1 && typeof e.values[0] === 'number')
    ) {
      errors.push({ field: `${where}/values`, message: `${e.operator} needs exactly one number` });
    }
    return undefined;
  });
  return errors;
}

function checkWave(wave: unknown, at: string): FieldError[] {
  if (!isObject(wave)) {
    return [{ field: at, message: 'must be {count}, {percent}, {selector} or {canary: "diverse", count}' }];
  }
  const keys = Object.keys(wave).sort().join(',');
  if (keys === 'count') {
    return isInt(wave.count) && wave.count >= 1
      ? []
      : [{ field: `${at}/count`, message: 'must be an integer ≥ 1' }];
  }
  if (keys === 'percent') {
    return typeof wave.percent === 'number' && wave.percent > 0 && wave.percent <= 100
      ? []
      : [{ field: `${at}/percent`, message: 'must be a number in (0, 100]' }];
  }
  if (keys === 'canary,count') {
    const errors: FieldError[] = [];
    if (wave.canary !== 'diverse') errors.push({ field: `${at}/canary`, message: 'must be "diverse"' });
    if (!isInt(wave.count) || wave.count < 1) {
      errors.push({ field: `${at}/count`, message: 'must be an integer ≥ 1' });
    }
    return errors;
  }
  if (keys === 'selector') {
    const selector = wave.selector;
    if (!isObject(selector) || Object.keys(selector).length === 0) {
      return [
        { field: `${at}/selector`, message: 'must have matchLabels, labelSelector or propertySelector' },
      ];
    }
    const errors: FieldError[] = [];
    for (const key of Object.keys(selector)) {
      if (!SELECTOR_KEYS.includes(key)) {
        errors.push({
          field: `${at}/selector/${key}`,
          message: `unknown member (${SELECTOR_KEYS.join(', ')})`,
        });
      }
    }
    if (selector.matchLabels !== undefined) {
      if (!isObject(selector.matchLabels)) {
        errors.push({ field: `${at}/selector/matchLabels`, message: 'must be an object' });
      } else {
        for (const [key, value] of Object.entries(selector.matchLabels)) {
          if (!['string', 'number', 'boolean'].includes(typeof value)) {
            errors.push({
              field: `${at}/selector/matchLabels/${key}`,
              message: 'must be a string, number or boolean',
            });
          }
        }
      }
    }
    if (selector.labelSelector !== undefined) {
      errors.push(...checkExpressions(selector.labelSelector, `${at}/selector/labelSelector`, false));
    }
    if (selector.propertySelector !== undefined) {
      errors.push(...checkExpressions(selector.propertySelector, `${at}/selector/propertySelector`, true));
    }
    return errors;
  }
  return [{ field: at, message: 'must be {count}, {percent}, {selector} or {canary: "diverse", count}' }];
}

function checkDuration(value: unknown, at: string, nullable: boolean): FieldError[] {
  if (value === null && nullable) return [];
  if (typeof value !== 'string' || parseDuration(value) === undefined) {
    return [{ field: at, message: 'must be a duration such as "30m", "1h30m", "45s" or "500ms"' }];
  }
  if (parseDuration(value)! > MAX_DURATION_MS) return [{ field: at, message: 'must be at most 30d' }];
  return [];
}

/**
 * Validates a rollout policy as sent (`at` is its pointer, e.g. `/rollout`) and fills in defaults.
 * Returns the stored policy, or the errors with pointers.
 */
export function validatePolicy(
  input: unknown,
  at: string,
): { policy: RolloutPolicy; errors: [] } | { policy: undefined; errors: FieldError[] } {
  if (!isObject(input)) return { policy: undefined, errors: [{ field: at, message: 'must be an object' }] };
  const errors: FieldError[] = [];
  const known = [
    'waves',
    'successThreshold',
    'failureThreshold',
    'waveTimeout',
    'pauseBetweenWaves',
    'approval',
  ];
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) {
      errors.push({ field: `${at}/${key}`, message: `unknown member (${known.join(', ')})` });
    }
  }
  if (!Array.isArray(input.waves) || input.waves.length === 0) {
    errors.push({ field: `${at}/waves`, message: 'must be a non-empty array of waves' });
  } else if (input.waves.length > 100) {
    errors.push({ field: `${at}/waves`, message: 'at most 100 waves' });
  } else {
    input.waves.forEach((w: unknown, i) => errors.push(...checkWave(w, `${at}/waves/${i}`)));
    input.waves.forEach((w: unknown, i) => {
      if (i > 0 && isObject(w) && 'canary' in w) {
        errors.push({ field: `${at}/waves/${i}/canary`, message: 'only the first wave can be a canary' });
      }
    });
  }
  for (const key of ['successThreshold', 'failureThreshold'] as const) {
    const v = input[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) {
      errors.push({ field: `${at}/${key}`, message: 'must be a number between 0 and 1' });
    }
  }
  if (input.successThreshold === 0) {
    errors.push({
      field: `${at}/successThreshold`,
      message: 'must be above 0 (a wave must install somewhere)',
    });
  }
  if (input.waveTimeout !== undefined) {
    errors.push(...checkDuration(input.waveTimeout, `${at}/waveTimeout`, true));
  }
  if (input.pauseBetweenWaves !== undefined) {
    errors.push(...checkDuration(input.pauseBetweenWaves, `${at}/pauseBetweenWaves`, false));
  }
  if (input.approval !== undefined && !APPROVALS.includes(input.approval as Approval)) {
    errors.push({ field: `${at}/approval`, message: `must be one of ${APPROVALS.join(', ')}` });
  }
  if (errors.length > 0) return { policy: undefined, errors };
  return {
    policy: {
      waves: input.waves as WaveSpec[],
      successThreshold: (input.successThreshold as number | undefined) ?? POLICY_DEFAULTS.successThreshold,
      failureThreshold: (input.failureThreshold as number | undefined) ?? POLICY_DEFAULTS.failureThreshold,
      waveTimeout:
        input.waveTimeout === undefined ? POLICY_DEFAULTS.waveTimeout : (input.waveTimeout as string | null),
      pauseBetweenWaves: (input.pauseBetweenWaves as string | undefined) ?? POLICY_DEFAULTS.pauseBetweenWaves,
      approval: (input.approval as Approval | undefined) ?? POLICY_DEFAULTS.approval,
    },
    errors: [],
  };
}
