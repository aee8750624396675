/**
 * A pattern of identifiers from configuration (WFM_ENROLLMENT_AUTO_ACCEPT): either `/regex/` (a
 * JavaScript regular expression that must match the whole id) or a comma list of globs where `*`
 * matches any run of characters and `?` one character (everything else is literal, case-sensitive).
 */
export type IdPattern = { ok: true; test: (id: string) => boolean; source: string } | { ok: false; reason: string };

export function compileIdPattern(raw: string): IdPattern {
  const source = raw.trim();
  if (source.length === 0) return { ok: false, reason: 'is empty' };
  if (source.length >= 2 && source.startsWith('/') && source.endsWith('/')) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:${source.slice(1, -1)})$`, 'u');
    } catch (error) {
      return { ok: false, reason: `is not a regular expression: ${(error as Error).message}` };
    }
    return { ok: true, source, test: (id) => re.test(id) };
  }
  const globs = source
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g.length > 0);
  if (globs.length === 0) return { ok: false, reason: 'names no pattern' };
  const res = globs.map((glob) => new RegExp(`^${[...glob].map(globChar).join('')}$`, 'u'));
  return { ok: true, source, test: (id) => res.some((re) => re.test(id)) };
}

function globChar(c: string): string {
  if (c === '*') return '.*';
  if (c === '?') return '.';
  return c.replace(/[\\^$.|+(){}[\]/]/gu, '\\$&');
}
