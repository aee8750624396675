export * from './digest.js';
export * from './http-signature-signer.js';
export * from './identities.js';
export * from './margo-client.js';
export * from './tar.js';
export * from './transport.js';
