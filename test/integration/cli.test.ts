import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliConfig } from '../../src/cli/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('margo-wfm CLI (compiled, against a real service)', () => {
  let service: TestService;
  let home: string;
  let ca: string;

  /** Runs dist/src/cli/main.js with its own HOME/XDG_CONFIG_HOME. */
  const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['dist/src/cli/main.js', ...args],
        { env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'cfg'), ...env } },
        (error, stdout, stderr) => {
          const code = error ? ((error as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
    });

  beforeAll(async () => {
    service = await startTestService({ WFM_ADMIN_TOKEN: ADMIN_TOKEN });
    home = await mkdtemp(join(tmpdir(), 'wfm-cli-'));
    ca = service.tls!.devCaPath!;
  });
  afterAll(async () => {
    await service?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('refuses commands before login with exit code 2', async () => {
    const run = await cli(['get', 'devices']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('not logged in');
  });

  it('login with a wrong token exits 1 with the problem detail and stores nothing', async () => {
    const run = await cli(['login', '--url', service.url, '--ca', ca, '--token', 'wrong-token-0123456789']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: 401: /);
    await expect(stat(join(home, 'cfg', 'margo-wfm', 'config.json'))).rejects.toThrow();
  });

  it('login without the CA fails as a TLS error (exit 4)', async () => {
    const run = await cli(['login', '--url', service.url, '--token', ADMIN_TOKEN]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('cannot reach');
  });

  it('login stores the context in a 0600 file', async () => {
    const run = await cli([
      'login',
      '--url',
      service.url,
      '--ca',
      ca,
      '--token',
      ADMIN_TOKEN,
      '--name',
      'lab',
    ]);
    expect(run.code).toBe(0);
    const file = join(home, 'cfg', 'margo-wfm', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const config = JSON.parse(await readFile(file, 'utf8')) as CliConfig;
    expect(config.currentContext).toBe('lab');
    expect(config.contexts.lab).toEqual({ url: service.url, token: ADMIN_TOKEN, ca });
  });

  it('get lists every resource, as a table and as JSON', async () => {
    const accepted = await service.call('/operator/v1/clients/line-7', {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(accepted.status).toBe(201);
    const clients = await cli(['get', 'clients', '-o', 'json']);
    expect(clients.code).toBe(0);
    expect((JSON.parse(clients.stdout) as { clientId: string }[]).map((c) => c.clientId)).toEqual(['line-7']);
    const table = await cli(['get', 'clients']);
    expect(table.stdout.split('\n')[0]).toMatch(/^CLIENT\s+PROFILE\s+STATE\s+LAST_SEEN$/);
    expect(table.stdout).toMatch(/^line-7\s+rc3\s+active\b/m);
    for (const resource of ['devices', 'deployments', 'packages', 'tokens']) {
      const run = await cli(['get', resource, '-o', 'yaml']);
      expect(run.code, `${resource}: ${run.stderr}`).toBe(0);
    }
  });

  it('describe shows one resource; unknown ones exit 3', async () => {
    const run = await cli(['describe', 'client', 'line-7', '-o', 'json']);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ clientId: 'line-7', state: 'active' });
    const missing = await cli(['describe', 'deployment', '00000000-0000-4000-8000-000000000000']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^error: 404: /);
    expect((await cli(['describe', 'device', 'no-slash'])).code).toBe(2);
    expect((await cli(['approve', 'nobody'])).code).toBe(3);
  });

  it('usage errors exit 2, unknown contexts 3', async () => {
    expect((await cli(['get', 'nothing'])).code).toBe(2);
    expect((await cli(['get', 'clients', '--selector', 'a=b'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['use-context', 'nope'])).code).toBe(3);
    expect((await cli(['--context', 'nope', 'get', 'clients'])).code).toBe(2);
  });

  it('WFM_URL/WFM_TOKEN override the stored context', async () => {
    const run = await cli(['get', 'clients'], { WFM_TOKEN: 'wrong-token-0123456789' });
    expect(run.code).toBe(1);
  });
});
