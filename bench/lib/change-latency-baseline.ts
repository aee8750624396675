import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Harness } from './harness.js';
import { ServerChild, type WfmReady } from './ipc.js';

/**
 * The change-latency bench's baseline, parent side: starts change-latency-baseline-server.js (a bare
 * Node HTTPS server that plays the device contract the bench drives, with no real work) in a child
 * process, and names the deployment it lists for each device.
 */

/** Where the child finds the service's certificate, key and CA (ca.pem, server.pem, server-key.pem). */
export const PKI_DIR_ENV = 'WFM_BENCH_CL_PKI_DIR';
/** The TLS session lifetime of the service, in seconds. */
export const SESSION_TIMEOUT_ENV = 'WFM_BENCH_CL_SESSION_TIMEOUT';

/** The deploymentId the baseline lists for a client's device: a UUID-shaped hash of both ids. */
export function baselineDeploymentId(clientId: string, deviceId: string): string {
  const hex = createHash('sha256').update(`${clientId}/${deviceId}`).digest('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join(
    '-',
  );
}

/**
 * Starts the baseline with the service's TLS material (read from its data folder) and session
 * lifetime; the harness stops it at cleanup. Its URL has the service's host name, so the same server
 * certificate check passes.
 */
export async function startChangeLatencyBaseline(
  h: Harness,
  ready: WfmReady,
): Promise<{ child: ServerChild; url: URL }> {
  const child = new ServerChild('baseline', new URL('./change-latency-baseline-server.js', import.meta.url), {
    ...process.env,
    [PKI_DIR_ENV]: join(ready.dataDir, 'pki'),
    [SESSION_TIMEOUT_ENV]: String(ready.sessionLifetimeSeconds),
  });
  h.children.push(child);
  const { port } = await child.next('baseline-ready', 10_000);
  const url = new URL(ready.url);
  url.port = String(port);
  return { child, url };
}
