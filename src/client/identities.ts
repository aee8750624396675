import {
  createCa,
  issueCertificate,
  type IssuedCertificate,
  type KeyAlgorithm,
  type LeafOptions,
  loadCa,
} from '../infra/tls/pki.js';

/** Identities for simulated and test devices, minted in-process. */

export interface ClientSvid {
  spiffeId: string;
  certChainPem: string;
  keyPem: string;
  cert: IssuedCertificate;
}

export interface SvidIssuer {
  trustDomain: string;
  wfmId: string;
  ca: IssuedCertificate;
}

export async function loadIssuer(
  caCertPem: string,
  caKeyPem: string,
  trustDomain: string,
  wfmId: string,
): Promise<SvidIssuer> {
  return { trustDomain, wfmId, ca: await loadCa(caCertPem, caKeyPem) };
}

/** An rc.3 WFM Client X.509-SVID: `spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>`. */
export async function issueClientSvid(
  issuer: SvidIssuer,
  clientId: string,
  options: {
    keyAlgorithm?: KeyAlgorithm;
    spiffeId?: string;
    notBefore?: Date;
    notAfter?: Date;
    /** Test overrides for malformed leaves (see LeafOptions). */
    shape?: Pick<LeafOptions, 'basicConstraintsCa' | 'keyUsage' | 'extendedKeyUsage'>;
  } = {},
): Promise<ClientSvid> {
  const spiffeId =
    options.spiffeId ?? `spiffe://${issuer.trustDomain}/margo/wfm/${issuer.wfmId}/client/${clientId}`;
  const cert = await issueCertificate({
    issuer: issuer.ca,
    commonName: clientId,
    uris: [spiffeId],
    clientAuth: true,
    keyAlgorithm: options.keyAlgorithm,
    notBefore: options.notBefore,
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * 86_400_000),
    ...options.shape,
  });
  return { spiffeId, certChainPem: cert.certPem, keyPem: cert.keyPem, cert };
}

/** A legacy-profile device certificate (the WFM accepts any well-formed one at onboarding). */
export async function issueDeviceCertificate(
  commonName: string,
  keyAlgorithm: KeyAlgorithm = 'P-256',
): Promise<{ certPem: string; keyPem: string }> {
  const ca = await deviceCa();
  const cert = await issueCertificate({ issuer: ca, commonName, keyAlgorithm, clientAuth: true });
  return { certPem: cert.certPem, keyPem: cert.keyPem };
}

let deviceCaPromise: Promise<IssuedCertificate> | undefined;
function deviceCa(): Promise<IssuedCertificate> {
  deviceCaPromise ??= createCa({ commonName: 'simulated device manufacturer CA' });
  return deviceCaPromise;
}
