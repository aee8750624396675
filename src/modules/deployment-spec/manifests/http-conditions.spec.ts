import { describe, expect, it } from 'vitest';
import { acceptsMediaType, ifNoneMatchMatches } from './http-conditions.js';

const ETAG = '"sha256:abc"';
const MANIFEST = 'application/vnd.margo.manifest.v1+json';

describe('If-None-Match (D9)', () => {
  it.each([
    [undefined, false],
    ['"sha256:abc"', true],
    ['"sha256:other", "sha256:abc"', true],
    ['*', true],
    ['W/"sha256:abc"', false],
    ['sha256:abc', false],
    ['"sha256:ABC"', false],
  ])('%j → %s', (header, expected) => {
    expect(ifNoneMatchMatches(header, ETAG)).toBe(expected);
  });
});

describe('Accept (D10)', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['*/*', true],
    ['application/*', true],
    [MANIFEST, true],
    [`text/html, ${MANIFEST};q=0.5`, true],
    [`${MANIFEST};q=0`, false],
    ['application/json', false],
    ['text/plain', false],
  ])('%j → %s', (header, expected) => {
    expect(acceptsMediaType(header, MANIFEST)).toBe(expected);
  });
});
