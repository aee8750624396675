import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueClientSvid, loadIssuer, type SvidIssuer } from '../client/identities.js';
import { request } from '../client/transport.js';
import type { Json } from './scenario.js';

const execFileAsync = promisify(execFile);

/**
 * The identities the runner plays: a fresh legacy device certificate per scenario (as the upstream
 * runner does, so every scenario's setup onboarding gets 201), a brand-new one for `fresh_cert`
 * steps, and an rc.3 X.509-SVID per scenario for `mtls` steps.
 */

/** An SVID issuer: loaded already, or a CA certificate and key (PEM) with the WFM's SPIFFE names. */
export type SvidIssuerOption =
  SvidIssuer | { caCertPem: string; caKeyPem: string; trustDomain: string; wfmId: string };

export function toSvidIssuer(option: SvidIssuerOption): Promise<SvidIssuer> {
  return 'ca' in option
    ? Promise.resolve(option)
    : loadIssuer(option.caCertPem, option.caKeyPem, option.trustDomain, option.wfmId);
}

export interface DeviceIdentity {
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
}

/**
 * Mints a device certificate exactly as the upstream runner does: `openssl req -new -x509` with the
 * stock OpenSSL configuration, so the certificate is self-signed with `basicConstraints CA:TRUE`.
 */
export async function mintDevice(label: string): Promise<DeviceIdentity> {
  const dir = await mkdtemp(join(tmpdir(), 'wfm-ctt-'));
  try {
    const keyFile = join(dir, 'device-key.pem');
    const certFile = join(dir, 'device-cert.pem');
    const cn = `ctt-${label.replace(/[^A-Za-z0-9._-]/g, '-')}-${randomBytes(4).toString('hex')}`;
    await execFileAsync('openssl', [
      'req',
      '-new',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ]);
    const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    return { certPem, keyPem, privateKey: createPrivateKey(keyPem) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface MtlsIdentity {
  clientId: string;
  certChainPem: string;
  keyPem: string;
}

export interface WfmAccess {
  baseUrl: string;
  ca?: string;
  adminToken?: string;
}

/**
 * Mints an rc.3 client SVID and, given an admin token, accepts the client at the WFM through the
 * operator API (`PUT /operator/v1/clients/{id}`); throws when the WFM refuses.
 */
export async function mintSvid(issuer: SvidIssuer, label: string, wfm: WfmAccess): Promise<MtlsIdentity> {
  const clientId = `ctt-${label.replace(/[^A-Za-z0-9._-]/g, '-')}-${randomBytes(4).toString('hex')}`;
  const svid = await issueClientSvid(issuer, clientId);
  if (wfm.adminToken !== undefined) {
    const res = await request(`${wfm.baseUrl}/operator/v1/clients/${clientId}`, {
      method: 'PUT',
      ca: wfm.ca,
      insecure: wfm.ca === undefined,
      headers: { authorization: `Bearer ${wfm.adminToken}` },
    });
    if (res.status !== 200 && res.status !== 201) {
      throw new Error(`the operator API refused to accept client ${clientId}: ${res.status} ${res.text()}`);
    }
  }
  return { clientId, certChainPem: svid.certChainPem, keyPem: svid.keyPem };
}

const CERT_FILE = /^\.\/certs\/[^/]*cert[^/]*\.pem$/i;

/** Replaces every string value `./certs/<…cert…>.pem` with the base64 of the certificate PEM. */
export function injectCertificate(value: Json, certPem: string): Json {
  if (typeof value === 'string') {
    return CERT_FILE.test(value) ? Buffer.from(certPem).toString('base64') : value;
  }
  if (Array.isArray(value)) return value.map((item) => injectCertificate(item, certPem));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, injectCertificate(v, certPem)]));
  }
  return value;
}
