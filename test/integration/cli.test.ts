import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliConfig } from '../../src/cli/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorClient } from '../../src/api-client/index.js';
import { readEvents } from '../../src/cli/events.js';
import { fetchWithCa } from '../../src/cli/http.js';
import { issueDeviceCertificate } from '../../src/client/identities.js';
import { LegacyClient, type Rc3Client } from '../../src/client/margo-client.js';
import { capabilities } from '../support/capabilities.js';
import { rc3Client } from '../support/identities.js';
import { linePackage } from '../support/packages.js';
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

  const cliEnv = (env: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'cfg'),
    ...env,
  });
  /** Writes a file into the test's HOME and returns its path. */
  const file = async (name: string, text: string): Promise<string> => {
    const path = join(home, name);
    await writeFile(path, text);
    return path;
  };
  const until = async <T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> => {
    const end = Date.now() + ms;
    let last = await fn();
    while (!ok(last) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      last = await fn();
    }
    if (!ok(last)) throw new Error(`condition not reached: ${JSON.stringify(last).slice(0, 300)}`);
    return last;
  };

  /** Runs dist/src/cli/main.js with its own HOME/XDG_CONFIG_HOME. */
  const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        ['dist/src/cli/main.js', ...args],
        { env: cliEnv(env) },
        (error, stdout, stderr) => {
          const code = error ? ((error as { code?: number }).code ?? 1) : 0;
          resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
    });

  beforeAll(async () => {
    service = await startTestService({
      WFM_ADMIN_TOKEN: ADMIN_TOKEN,
      WFM_RECOMPUTE_DEBOUNCE_MS: '100',
    });
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
    for (const resource of ['devices', 'deployments', 'packages', 'tokens', 'audit']) {
      const run = await cli(['get', resource, '-o', 'yaml']);
      expect(run.code, `${resource}: ${run.stderr}`).toBe(0);
    }
    // the acceptance above is in the audit log
    const audit = await cli(['get', 'audit']);
    expect(audit.stdout.split('\n')[0]).toMatch(/^AT\s+ACTOR\s+ACTION\s+RESOURCE\s+OUTCOME$/);
    expect(audit.stdout).toMatch(/\sbootstrap-admin\s+client\.accept\s+client:line-7\s+ok$/m);
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

  it('apply publishes a package once: the second apply reports "unchanged" and exits 0', async () => {
    const path = await file('margo.yaml', linePackage('1.0.0'));
    const first = await cli(['apply', '-f', path]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^package\/com-example-line-monitor@1\.0\.0 published$/m);
    const second = await cli(['apply', '-f', path]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe('package/com-example-line-monitor@1.0.0 unchanged\n');
    // the same version with other content: the diff, then a refusal (versions are immutable)
    const edited = await file(
      'margo-edited.yaml',
      linePackage('1.0.0').replace('name: Line Monitor', 'name: LM'),
    );
    const refused = await cli(['apply', '-f', edited]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('  -   name: Line Monitor\n  +   name: LM\n');
    expect(refused.stdout).not.toContain('apiVersion'); // only the change and its context
    expect(refused.stderr).toContain('immutable');
    const packages = await cli(['get', 'packages']);
    expect(packages.stdout).toMatch(/^com-example-line-monitor\s+1\.0\.0\s+Line Monitor\s+0$/m);
    const described = await cli(['describe', 'package', 'com-example-line-monitor@1.0.0', '-o', 'json']);
    expect(described.code, described.stderr).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({ applicationId: 'com-example-line-monitor' });
  });

  describe('apply of a deployment file', () => {
    let device: Rc3Client;
    let deploymentId: string;
    const deploymentFile = (greeting: string) => `apiVersion: margo-wfm/v1
kind: Deployment
name: line-monitor-press-1
package: com-example-line-monitor
version: '1.0.0'
device: { clientId: line-cli, deviceId: press-1 }
parameters:
  siteId: DE-001
  greeting: ${greeting}
`;
    beforeAll(async () => {
      device = await rc3Client(service, 'line-cli');
      expect((await device.putCapabilities('press-1', capabilities('press-1'))).status).toBe(201);
    });
    afterAll(() => device?.close());

    /** Plays the device: polls its manifest and reports the current entry installed. */
    const reportInstalled = async (): Promise<void> => {
      const manifest = (await device.getManifest()).json<{
        manifestVersion: number;
        deployments: { deploymentId: string }[];
      }>();
      for (const entry of manifest.deployments) {
        await device.postStatus(entry.deploymentId, {
          deploymentId: entry.deploymentId,
          adoptedManifestVersion: manifest.manifestVersion,
          status: { state: 'installed' },
          components: [{ name: 'line-monitor-compose', state: 'installed' }],
        });
      }
    };

    it('--dry-run shows the diff and creates nothing; apply creates; the second apply is "unchanged"', async () => {
      const path = await file('deployment.yaml', deploymentFile('Hi'));
      const dry = await cli(['apply', '-f', path, '--dry-run']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain('+ package: com-example-line-monitor');
      expect(dry.stdout).toMatch(/^deployment\/line-monitor-press-1 would be created \(dry run\)$/m);
      expect(JSON.parse((await cli(['get', 'deployments', '-o', 'json'])).stdout)).toEqual([]);

      const created = await cli(['apply', '-f', path]);
      expect(created.code, created.stderr).toBe(0);
      const match = /^deployment\/line-monitor-press-1 \(([0-9a-f-]{36})\) created$/m.exec(created.stdout);
      expect(match, created.stdout).not.toBeNull();
      deploymentId = match![1];

      const again = await cli(['apply', '-f', path]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(`deployment/line-monitor-press-1 (${deploymentId}) unchanged\n`);
      const list = await cli(['get', 'deployments']);
      expect(list.stdout).toMatch(
        new RegExp(`^${deploymentId}\\s+com-example-line-monitor\\s+1\\.0\\.0\\s+1\\b`, 'm'),
      );
    });

    it('a changed file shows the diff and patches; --wait returns once the device is in-sync', async () => {
      const path = await file('deployment.yaml', deploymentFile('Servus'));
      const waiting = cli(['apply', '-f', path, '--wait', '--timeout', '30']);
      const run = await new Promise<Run>((resolve, reject) => {
        let done = false;
        waiting.then((r) => {
          done = true;
          resolve(r);
        }, reject);
        const tick = (): void => {
          if (done) return;
          reportInstalled().then(
            () => setTimeout(tick, 300),
            (error: unknown) =>
              done ? undefined : reject(error instanceof Error ? error : new Error(String(error))),
          );
        };
        tick();
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('-   greeting: Hi');
      expect(run.stdout).toContain('+   greeting: Servus');
      expect(run.stdout).toContain(`deployment/line-monitor-press-1 (${deploymentId}) updated to revision 2`);
      expect(run.stdout).toContain(`deployment ${deploymentId}: 1/1 placed targets in-sync`);
      expect(run.stderr).toBe(''); // progress goes to a terminal only

      const described = await cli(['describe', 'deployment', deploymentId, '-o', 'json']);
      expect(JSON.parse(described.stdout)).toMatchObject({
        revision: 2,
        parameters: { greeting: 'Servus' },
        targets: [
          { clientId: 'line-cli', deviceId: 'press-1', placement: 'placed', derivedState: 'in-sync' },
        ],
      });
      const dev = await cli(['describe', 'device', 'line-cli/press-1', '-o', 'json']);
      expect(dev.code, dev.stderr).toBe(0);
      expect(JSON.parse(dev.stdout)).toMatchObject({ clientId: 'line-cli', deviceId: 'press-1' });
      const devices = await cli(['get', 'devices']);
      expect(devices.stdout).toMatch(/^line-cli\s+press-1\s+arm64\s+8Gi\b/m);
    });

    it('exit codes: --wait that times out exits 5, a bad file exits 2 naming the field, a refused change 1', async () => {
      const path = await file('deployment.yaml', deploymentFile('Moin'));
      const timedOut = await cli(['apply', '-f', path, '--wait', '--timeout', '1']);
      expect(timedOut.code, timedOut.stdout + timedOut.stderr).toBe(5);
      expect(timedOut.stderr).toContain('not in-sync after 1s');
      expect((await cli(['apply', '-f', path])).stdout).toContain('unchanged');

      const bad = await file('bad.yaml', deploymentFile('Hi').replace("version: '1.0.0'", 'version: 1.0'));
      const refusedFile = await cli(['apply', '-f', bad]);
      expect(refusedFile.code).toBe(2);
      expect(refusedFile.stderr).toContain('/version: must be a non-empty string');
      expect((await cli(['apply', '-f', join(home, 'missing.yaml')])).code).toBe(2);

      const invalid = await file(
        'invalid.yaml',
        deploymentFile('this greeting is far too long for the schema'),
      );
      const refused = await cli(['apply', '-f', invalid]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: 422: .*\/parameters\/greeting/m);
    });
  });

  it('get events lists the logged events; events --follow prints a live one and stops on SIGTERM', async () => {
    const logged = await cli(['get', 'events', '--type', 'client.enrolled', '-o', 'json']);
    expect(logged.code, logged.stderr).toBe(0);
    const events = logged.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; clientId?: string });
    expect(events.map((e) => e.clientId)).toEqual(expect.arrayContaining(['line-7', 'line-cli']));
    expect(events.every((e) => e.type === 'client.enrolled')).toBe(true);
    const lines = await cli(['get', 'events', '--client', 'line-7']);
    expect(lines.stdout).toMatch(/^\S+ {2}\d+ {2}client\.enrolled {2}client=line-7 {2}\{.*\}$/m);

    const child = spawn(
      process.execPath,
      ['dist/src/cli/main.js', 'events', '--follow', '--type', 'client.enrolled'],
      {
        env: cliEnv(),
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let n = 0;
      // the stream goes live a moment after the start: enrol clients until one is printed
      await until(
        async () => {
          n += 1;
          await service.call(`/operator/v1/clients/follow-${n}`, {
            method: 'PUT',
            headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          });
          return out;
        },
        (o) => /client\.enrolled {2}client=follow-\d+/.test(o),
      );
      expect(out).not.toContain('client=line-7'); // no replay without --since
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, err).toBe(0);
  });

  it('approve/reject: a legacy onboarding request goes pending → active → rejected', async () => {
    const identity = await issueDeviceCertificate('cli-legacy', 'P-256');
    const { response, client } = await LegacyClient.onboard(service.url, identity, { ca: service.serverCa });
    expect(response.status).toBe(201);
    const clientId = client!.clientId;
    client!.close();
    const pending = await cli(['describe', 'client', clientId, '-o', 'json']);
    expect(JSON.parse(pending.stdout)).toMatchObject({ state: 'pending' });
    const approved = await cli(['approve', clientId]);
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toBe(`${clientId}: active\n`);
    const rejected = await cli(['reject', clientId]);
    expect(rejected.stdout).toBe(`${clientId}: rejected\n`);
    expect((await cli(['get', 'clients'])).stdout).toMatch(
      new RegExp(`^${clientId}\\s+legacy\\s+rejected\\b`, 'm'),
    );
  });

  it('the event stream is opened with a stream token: the bearer token is in no URL and not sent on it', async () => {
    const seen: { url: string; authorization: string | null }[] = [];
    const context = { url: service.url, token: ADMIN_TOKEN, ca };
    const inner = fetchWithCa(context, await readFile(ca, 'utf8'));
    const client = createOperatorClient({
      baseUrl: service.url,
      token: ADMIN_TOKEN,
      fetch: (request) => {
        seen.push({ url: request.url, authorization: request.headers.get('authorization') });
        return inner(request);
      },
    });
    const events: string[] = [];
    await readEvents(
      { client, context },
      { filters: {}, after: '0', follow: false, onEvent: (e) => events.push(e.id) },
    );
    expect(events.length).toBeGreaterThan(0);
    expect(seen.map((s) => new URL(s.url).pathname)).toEqual([
      '/operator/v1/events/token',
      '/operator/v1/events',
    ]);
    for (const { url } of seen) expect(url).not.toContain(ADMIN_TOKEN);
    expect(new URL(seen[1].url).searchParams.get('token')).toMatch(/.{20,}/);
    expect(seen[1].authorization).toBeNull();
    expect(seen[0].authorization).toBe(`Bearer ${ADMIN_TOKEN}`);
  });
});
