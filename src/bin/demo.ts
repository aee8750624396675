// `npm run demo [-- --url https://127.0.0.1:8443]`: with the service already running on the local
// defaults, walks a simulated paint line through publish → deploy → install → parameter change and
// checks every step; exit code 0 only when all of it happened.
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { request } from '../client/transport.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { runDemo } from '../simulator/demo.js';
import { loadLocalAccess } from '../simulator/fleet.js';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { url: { type: 'string' } } });
  const config = loadConfig();
  const url = values.url ?? `https://127.0.0.1:${config.http.port}`;
  const access = await loadLocalAccess({
    url,
    dataDir: config.dataDir,
    adminToken: config.auth.adminToken,
    trustDomain: config.identity.trustDomain,
    wfmId: config.identity.wfmId,
  });
  const health = await fetchReady(url, access.ca);
  if (health) {
    console.error(`The WFM at ${url} is not reachable (${health}). Start it first: npm start`);
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
