/**
 * `@quorumkv/service-kit/tls`: identities and certificate making without the rest of the kit
 * (telemetry, metrics), for tools such as the local launcher's development CA.
 */
export { clientIdentity, identityFromSubjectAltName, SERVICE_IDENTITIES, spiffeId, subjectAltNames, TRUST_DOMAIN } from './tls-identity.js';
export { createCertificateAuthority, issueCertificate, OpensslError } from './tls-issue.js';
export type { CertificateFiles, CertificateSpec } from './tls-issue.js';
export { checkTlsFiles, pemCertificates, TLS_DIR_FILES } from './tls-settings.js';
export type { TlsFiles, TlsFilesSummary } from './tls-settings.js';
