import { describe, expect, it } from 'vitest';
import { sha256Digest } from '../../../common/digest.js';
import { buildStateManifest, type StateManifestInput } from './state-manifest.js';

const d1 = `sha256:${'a'.repeat(64)}`;
const d2 = `sha256:${'b'.repeat(64)}`;
const bd = `sha256:${'c'.repeat(64)}`;
const idA = 'a3e2f5dc-912e-494f-8395-52cf3769bc06';
const idB = '0b6f1c9e-7d1a-4c55-9a0e-2f1d2c3b4a59';

const input: StateManifestInput = {
  manifestVersion: 101n,
  deployments: [
    { deploymentId: idA, digest: d1, sizeBytes: 812 },
    { deploymentId: idB, digest: d2, sizeBytes: 90 },
  ],
  bundle: { digest: bd, sizeBytes: 1024 },
  urlPrefix: '/api/v1',
};

describe('buildStateManifest', () => {
  it('writes JCS bytes with sorted keys and deployments sorted by id', () => {
    const text = buildStateManifest(input).toString('utf8');
    expect(text).toBe(
      `{"bundle":{"digest":"${bd}","mediaType":"application/vnd.margo.bundle.v1+tar+gzip","sizeBytes":1024,` +
        `"url":"/api/v1/bundles/${bd}"},"deployments":[` +
        `{"deploymentId":"${idB}","digest":"${d2}","sizeBytes":90,"url":"/api/v1/deployments/${idB}/${d2}"},` +
        `{"deploymentId":"${idA}","digest":"${d1}","sizeBytes":812,"url":"/api/v1/deployments/${idA}/${d1}"}` +
        `],"manifestVersion":101}`,
    );
  });

  it('is stable: same logical state, same bytes and ETag', () => {
    const reordered = { ...input, deployments: [...input.deployments].reverse() };
    expect(buildStateManifest(reordered).equals(buildStateManifest(input))).toBe(true);
    expect(sha256Digest(buildStateManifest(reordered))).toBe(sha256Digest(buildStateManifest(input)));
  });

  it('uses the legacy URL prefix', () => {
    const m = JSON.parse(
      buildStateManifest({ ...input, urlPrefix: '/api/v1/clients/client-7' }).toString('utf8'),
    ) as { bundle: { url: string }; deployments: { url: string }[] };
    expect(m.bundle.url).toBe(`/api/v1/clients/client-7/bundles/${bd}`);
    expect(m.deployments[0].url).toBe(`/api/v1/clients/client-7/deployments/${idB}/${d2}`);
  });

  it('writes bundle null and an empty list when there are no deployments', () => {
    const text = buildStateManifest({
      ...input,
      deployments: [],
      bundle: null,
      manifestVersion: 1n,
    }).toString();
    expect(text).toBe('{"bundle":null,"deployments":[],"manifestVersion":1}');
  });

  it('keeps manifestVersion exact up to 2^64-1', () => {
    const text = buildStateManifest({ ...input, manifestVersion: 18446744073709551615n }).toString();
    expect(text.endsWith(',"manifestVersion":18446744073709551615}')).toBe(true);
  });

  it('refuses inconsistent input', () => {
    expect(() => buildStateManifest({ ...input, manifestVersion: 0n })).toThrow('outside');
    expect(() => buildStateManifest({ ...input, manifestVersion: 2n ** 64n })).toThrow('outside');
    expect(() => buildStateManifest({ ...input, bundle: null })).toThrow('bundle must be null exactly');
    expect(() => buildStateManifest({ ...input, deployments: [] })).toThrow('bundle must be null exactly');
    expect(() => buildStateManifest({ ...input, bundle: { digest: 'sha256:ABC', sizeBytes: 1 } })).toThrow(
      'not sha256',
    );
    expect(() =>
      buildStateManifest({ ...input, deployments: [input.deployments[0], input.deployments[0]] }),
    ).toThrow('duplicate deploymentId');
    expect(() =>
      buildStateManifest({ ...input, deployments: [{ deploymentId: 'dep-1', digest: d1, sizeBytes: 1 }] }),
    ).toThrow('not a UUID');
    expect(() => buildStateManifest({ ...input, urlPrefix: '/api/v1/' })).toThrow('urlPrefix');
    expect(() => buildStateManifest({ ...input, bundle: { digest: bd, sizeBytes: -1 } })).toThrow(
      'sizeBytes',
    );
  });
});
