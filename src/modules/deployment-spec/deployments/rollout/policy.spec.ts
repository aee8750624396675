import { describe, expect, it } from 'vitest';
import { parseDuration, validatePolicy } from './policy.js';

describe('rollout policy', () => {
  it('parses durations', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2d')).toBe(172_800_000);
    for (const bad of ['', '30', 'm', '1.5h', '30 m', '-5s', '5x']) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });

  it('fills in defaults', () => {
    expect(validatePolicy({ waves: [{ count: 1 }] }, '/rollout')).toEqual({
      policy: {
        waves: [{ count: 1 }],
        successThreshold: 1,
        failureThreshold: 0,
        waveTimeout: '30m',
        pauseBetweenWaves: '0s',
        approval: 'none',
      },
      errors: [],
    });
    expect(
      validatePolicy({ waves: [{ percent: 10 }], waveTimeout: null }, '/rollout').policy?.waveTimeout,
    ).toBeNull();
  });

  it('accepts every wave kind', () => {
    const waves = [
      { canary: 'diverse', count: 3 },
      { selector: { matchLabels: { line: 'paint' } } },
      {
        selector: {
          propertySelector: { matchExpressions: [{ key: '/vendor', operator: 'In', values: ['Acme'] }] },
        },
      },
      { percent: 50 },
      { count: 5 },
    ];
    expect(validatePolicy({ waves, approval: 'before-each-wave' }, '/rollout').errors).toEqual([]);
  });

  it('answers with a pointer per offending field', () => {
    const { errors } = validatePolicy(
      {
        waves: [
          { count: 0 },
          { percent: 120 },
          { canary: 'diverse', count: 2 },
          { selector: { propertySelector: { matchExpressions: [{ key: 'vendor', operator: 'In' }] } } },
          { count: 1, percent: 5 },
        ],
        successThreshold: 1.5,
        failureThreshold: -1,
        waveTimeout: '30 minutes',
        pauseBetweenWaves: 5,
        approval: 'always',
        extra: true,
      },
      '/rollout',
    );
    expect(errors.map((e) => e.field).sort()).toEqual(
      [
        '/rollout/extra',
        '/rollout/waves/0/count',
        '/rollout/waves/1/percent',
        '/rollout/waves/2/canary',
        '/rollout/waves/3/selector/propertySelector/matchExpressions/0/key',
        '/rollout/waves/3/selector/propertySelector/matchExpressions/0/values',
        '/rollout/waves/4',
        '/rollout/successThreshold',
        '/rollout/failureThreshold',
        '/rollout/waveTimeout',
        '/rollout/pauseBetweenWaves',
        '/rollout/approval',
      ].sort(),
    );
    expect(validatePolicy({ waves: [] }, '/rollout').errors).toEqual([
      { field: '/rollout/waves', message: 'must be a non-empty array of waves' },
    ]);
    expect(validatePolicy('fast', '/rollout').errors[0].field).toBe('/rollout');
  });
});
