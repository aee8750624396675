import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The bootstrap admin token: WFM_ADMIN_TOKEN when set; otherwise a random token generated on first
 * start and kept in `<data>/admin-token` (mode 0600), so later starts reuse it.
 */
export async function ensureAdminToken(
  dataDir: string,
  configured: string | undefined,
): Promise<{ token: string; file?: string; created: boolean }> {
  if (configured) return { token: configured, created: false };
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 16) return { token, file, created: false };
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const token = `wfm_admin_${randomBytes(24).toString('base64url')}`;
  await writeFile(file, token + '\n', { mode: 0o600 });
  return { token, file, created: true };
}
