/** One column of a keyset sort: its Prisma field, the previous page's last value, the direction. */
export interface KeysetColumn {
  field: string;
  value: unknown;
  dir: 'asc' | 'desc';
}

/**
 * The Prisma `where` of "rows after this key" for a sort over `columns` (the last ones make it unique):
 * `(a > x) OR (a = x AND b > y) OR ...`, with `<` for descending columns.
 */
export function keysetAfter(columns: readonly KeysetColumn[]): Record<string, unknown> {
  const alternatives = columns.map((column, i) => ({
    AND: [
      ...columns.slice(0, i).map((c) => ({ [c.field]: c.value })),
      { [column.field]: { [column.dir === 'asc' ? 'gt' : 'lt']: column.value } },
    ],
  }));
  return { OR: alternatives };
}

/** The Prisma `orderBy` of the same sort. */
export function keysetOrder(
  columns: readonly Pick<KeysetColumn, 'field' | 'dir'>[],
): Record<string, 'asc' | 'desc'>[] {
  return columns.map((c) => ({ [c.field]: c.dir }));
}
