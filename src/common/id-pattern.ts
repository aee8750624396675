/**
 * A pattern of identifiers from configuration (WFM_ENROLLMENT_AUTO_ACCEPT): a comma list whose items
 * are globs — `*` matches any run of characters, `?` one character, everything else is literal and
 * case-sensitive — or `/regex/` (a JavaScript regular expression that must match the whole id). A
 * value that is one `/regex/` as a whole may contain commas.
 */
export type IdPattern =
  { ok: true; test: (id: string) => boolean; source: string } | { ok: false; reason: string };

export function compileIdPattern(raw: string): IdPattern {
  const source = raw.trim();
  if (source.length === 0) return { ok: false, reason: 'is empty' };
  const items = isRegex(source)
    ? [source]
    : source
        .split(',')
        .map((g) => g.trim())
        .filter((g) => g.length > 0);
  if (items.length === 0) return { ok: false, reason: 'names no pattern' };
  const res: RegExp[] = [];
  for (const item of items) {
    if (isRegex(item)) {
      try {
        res.push(new RegExp(`^(?:${item.slice(1, -1)})$`, 'u'));
      } catch (error) {
        return { ok: false, reason: `${item} is not a regular expression: ${(error as Error).message}` };
      }
    } else {
      res.push(new RegExp(`^${[...item].map(globChar).join('')}$`, 'u'));
    }
  }
  return { ok: true, source, test: (id) => res.some((re) => re.test(id)) };
}

function isRegex(item: string): boolean {
  return item.length >= 2 && item.startsWith('/') && item.endsWith('/');
}

function globChar(c: string): string {
  if (c === '*') return '.*';
  if (c === '?') return '.';
  return c.replace(/[\\^$.|+(){}[\]/]/gu, '\\$&');
}
