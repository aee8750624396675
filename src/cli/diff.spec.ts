import { describe, expect, it } from 'vitest';
import { diffLines, withContext } from './diff.js';

describe('diffLines', () => {
  it('is empty for equal texts', () => {
    expect(diffLines('a\nb\n', 'a\nb\n')).toEqual([]);
  });

  it('marks removed and added lines, keeping the common ones', () => {
    expect(
      diffLines('version: 1.0.0\nparameters:\n  a: 1\n', 'version: 1.1.0\nparameters:\n  a: 1\n  b: 2\n'),
    ).toEqual(['- version: 1.0.0', '+ version: 1.1.0', '  parameters:', '    a: 1', '+   b: 2']);
  });

  it('shows a creation as all added', () => {
    expect(diffLines('', 'a\nb\n')).toEqual(['+ a', '+ b']);
  });
});

describe('withContext', () => {
  it('keeps changes with their neighbours and marks the gaps', () => {
    const lines = ['  a', '  b', '  c', '- d', '+ D', '  e', '  f', '  g', '  h'];
    expect(withContext(lines, 1)).toEqual(['…', '  c', '- d', '+ D', '  e', '…']);
    expect(withContext(['  a'], 2)).toEqual(['…']);
  });
});
