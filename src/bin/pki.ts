// `npm run pki -- issue-client <wfm-client-id> [--out dir] [--accept] [--url https://127.0.0.1:8443]`
// Mints an rc.3 client X.509-SVID from the development CA (under WFM_DATA_DIR/pki) and, with --accept,
// adds the client to the WFM's accepted-client policy through the operator API.
import 'reflect-metadata';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { issueClientSvid, loadIssuer } from '../client/identities.js';
import { request } from '../client/transport.js';
import { ConfigError, loadConfig } from '../config/config.js';
import { ensureAdminToken } from '../infra/bootstrap/admin-token.js';
import { devPkiPaths } from '../infra/tls/dev-pki.js';

const USAGE = `usage: npm run pki -- issue-client <wfm-client-id> [--out <dir>] [--accept] [--url <wfm-url>]

Mints an rc.3 client X.509-SVID from the development CA (WFM_DATA_DIR/pki, created by the first
npm start) into <dir> (default WFM_DATA_DIR/clients/<wfm-client-id>).

  --out <dir>     where svid.pem, svid-key.pem and bundle.pem are written
  --accept        also add the client to the WFM's accepted-client policy (operator API)
  --url <wfm-url> the WFM for --accept (default https://127.0.0.1:<PORT>)
  -h, --help      this text`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        accept: { type: 'boolean' },
        url: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help || positionals[0] === 'help') {
    console.log(USAGE);
    return 0;
  }
  const [command, clientId] = positionals;
  if (command !== 'issue-client') {
    console.error(
      `${command === undefined ? 'no command given' : `unknown command ${JSON.stringify(command)}`}\n\n${USAGE}`,
    );
    return 2;
  }
  if (!clientId || !/^[A-Za-z0-9._-]+$/.test(clientId)) {
    console.error(`issue-client needs a client id of letters, digits, '.', '-' and '_'\n\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const paths = devPkiPaths(config.dataDir);
  let caPem: string;
  let caKeyPem: string;
  try {
    caPem = await readFile(paths.caPath, 'utf8');
    caKeyPem = await readFile(paths.caKeyPath, 'utf8');
  } catch {
    console.error(`No development CA at ${paths.caPath}: start the service once (npm start) to create it.`);
    return 1;
  }
  const issuer = await loadIssuer(caPem, caKeyPem, config.identity.trustDomain, config.identity.wfmId);
  const svid = await issueClientSvid(issuer, clientId);
  const out = resolve(values.out ?? join(config.dataDir, 'clients', clientId));
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'svid.pem'), svid.certChainPem);
  await writeFile(join(out, 'svid-key.pem'), svid.keyPem, { mode: 0o600 });
  await writeFile(join(out, 'bundle.pem'), caPem);
  console.log(`issued ${svid.spiffeId}`);
  console.log(
    `  certificate: ${join(out, 'svid.pem')}\n  key:         ${join(out, 'svid-key.pem')}\n  trust bundle: ${join(out, 'bundle.pem')}`,
  );

  if (values.accept) {
    const url = values.url ?? `https://127.0.0.1:${config.http.port}`;
    const { token } = await ensureAdminToken(config.dataDir, config.auth.adminToken);
    const res = await request(new URL(`/operator/v1/clients/${clientId}`, url), {
      method: 'PUT',
      ca: caPem,
      headers: { authorization: `Bearer ${token}` },
    }).catch((error: unknown) => {
      console.error(
        `could not reach the WFM at ${url}: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    });
    if (!res) return 1;
    if (res.status !== 200 && res.status !== 201) {
      console.error(`accepting ${clientId} failed: ${res.status} ${res.text()}`);
      return 1;
    }
    console.log(`accepted ${clientId} into the accepted-client policy of ${url}`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
