import { describe, expect, it } from 'vitest';
import { cell, formatTable } from './format.js';

describe('formatTable', () => {
  it('aligns every column to its widest cell and trims trailing blanks', () => {
    const out = formatTable(
      ['CLIENT', 'DEVICE', 'MEMORY'],
      [
        ['line-7', 'press-1', '8Gi'],
        ['a', 'gw-1/cell-12', ''],
      ],
    );
    expect(out).toBe(
      ['CLIENT  DEVICE        MEMORY', 'line-7  press-1       8Gi', 'a       gw-1/cell-12'].join('\n') + '\n',
    );
  });

  it('prints only the header for an empty list', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B\n');
  });
});

describe('cell', () => {
  it('renders null as empty, scalars as text and objects as JSON', () => {
    expect([cell(null), cell(undefined), cell(3), cell(false), cell({ a: 1 })]).toEqual([
      '',
      '',
      '3',
      'false',
      '{"a":1}',
    ]);
  });
});
