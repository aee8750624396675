import type { KeyObject } from 'node:crypto';

export type ClientProfileName = 'rc3' | 'legacy';
export type ClientStateName = 'pending' | 'active' | 'retired' | 'rejected';

/** A client as the request path needs it (cached in memory by the ClientDirectory). */
export interface ClientRecord {
  id: string;
  profile: ClientProfileName;
  externalId: string;
  state: ClientStateName;
  keyId: string | null;
  /** Legacy: the onboarded certificate's public key, for RFC 9421 verification. */
  publicKey: KeyObject | null;
}

/** The caller of a device route, attached to the request by the enrollment strategies. */
export interface AuthenticatedClient {
  /** Internal UUID; every module keys devices, manifests and status by it. */
  id: string;
  profile: ClientProfileName;
  /** rc.3: the wfm-client-id; legacy: the clientId issued at onboarding. */
  externalId: string;
  /** rc.3: the caller's SPIFFE ID. */
  spiffeId?: string;
}

export interface OperatorPrincipal {
  kind: 'operator';
  name: string;
  role: 'admin' | 'operator' | 'viewer';
  /** How the caller signed in: the bootstrap admin token, a created operator token, or an OIDC token. */
  via: 'bootstrap' | 'token' | 'oidc';
  /** A created operator token's id. */
  tokenId?: string;
  /** OIDC: the token's `sub` and `iss`. */
  subject?: string;
  issuer?: string;
  /** A label scope (e.g. `{site: 'DE-001'}`): the caller sees and changes only what lies inside it. */
  scope?: Record<string, string>;
}
