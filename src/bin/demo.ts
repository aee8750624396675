// `npm run demo [-- --url https://127.0.0.1:8443] [--data-dir ./.data]`: with the service already
// running, walks a simulated paint line through publish → deploy → install → parameter change and
// checks every step; exit code 0 only when all of it happened.
import 'reflect-metadata';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from '../client/transport.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { runDemo } from '../simulator/demo.js';
import { loadLocalAccess } from '../simulator/fleet.js';

const USAGE = `usage: npm run demo [-- --url <wfm-url>] [--data-dir <dir>]

Runs the one-minute demo against a WFM that is already running (npm start, or docker compose up).

  --url <wfm-url>   the WFM (default https://127.0.0.1:<PORT>, PORT defaults to 8443),
                    e.g. --url https://127.0.0.1:9443 for a service started with PORT=9443
  --data-dir <dir>  that service's data directory (default WFM_DATA_DIR or ./.data): the demo reads
                    the development CA (pki/ca.pem, pki/ca-key.pem) to trust the service and to issue
                    device identities, and the admin token (admin-token) unless WFM_ADMIN_TOKEN is set
  -h, --help        this text`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  const url = values.url ?? `https://127.0.0.1:${config.http.port}`;
  const dataDir = values['data-dir'] ? resolve(values['data-dir']) : config.dataDir;
  const access = await loadLocalAccess({
    url,
    dataDir,
    adminToken: config.auth.adminToken,
    trustDomain: config.identity.trustDomain,
    wfmId: config.identity.wfmId,
  });
  const health = await fetchReady(url, access.ca);
  if (health) {
    console.error(
      `The WFM at ${url} is not reachable (${health}). Start it first (npm start), or point the demo at ` +
        `the running service: npm run demo -- --url https://<host>:<port> --data-dir <its WFM_DATA_DIR> ` +
        `(the CA and admin token come from there; WFM_ADMIN_TOKEN overrides the token).`,
    );
    return 1;
  }
  const result = await runDemo({ ...access, log: (line) => console.log(line) });
  return result.success ? 0 : 1;
}

/** undefined when /health/live answers 200, else why not. */
async function fetchReady(url: string, ca: string): Promise<string | undefined> {
  try {
    const res = await request(new URL('/health/live', url), { ca, timeoutMs: 5_000 });
    return res.status === 200 ? undefined : `health answered ${res.status}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
