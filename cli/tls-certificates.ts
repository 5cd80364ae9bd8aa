import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A small private certificate authority and the server certificates it signs, for
 * `nimbus tls init`: ECDSA P-256 keys and SHA-256 signatures, which docker, podman, skopeo,
 * containerd and browsers all accept. Pure JavaScript over node's webcrypto (nothing to download).
 */
x509.cryptoProvider.set(webcrypto as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface Authority {
  readonly certificate: x509.X509Certificate;
  readonly keys: CryptoKeyPair;
}

export interface IssuedPem {
  readonly certificatePem: string;
  readonly keyPem: string;
}

export async function createAuthority(commonName: string, days: number, now = new Date()): Promise<Authority> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeDn(commonName)}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, keys };
}

/** Reads back an authority written by `authorityPem` (so a second `tls init` reuses the CA clients trust). */
export async function loadAuthority(certificatePem: string, keyPem: string): Promise<Authority> {
  const certificate = new x509.X509Certificate(certificatePem);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(keyPem), ALGORITHM, true, ['sign']);
  const publicKey = await certificate.publicKey.export(ALGORITHM, ['verify'], webcrypto as Crypto);
  return { certificate, keys: { privateKey, publicKey } };
}

export async function authorityPem(authority: Authority): Promise<IssuedPem> {
  return { certificatePem: authority.certificate.toString('pem'), keyPem: await privateKeyPem(authority.keys.privateKey) };
}

/** A server certificate for the given DNS names and IP addresses (its subject alternative names). */
export async function issueServerCertificate(
  authority: Authority,
  names: { dns: readonly string[]; ips: readonly string[] },
  days: number,
  now = new Date(),
): Promise<IssuedPem> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${escapeDn(names.dns[0] ?? names.ips[0] ?? 'nimbus')}`,
    issuer: authority.certificate.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + days * DAY_MS),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: authority.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(authority.keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** 16 random bytes, the top bit clear so the serial is positive (RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

function escapeDn(value: string): string {
  return value.replace(/[,+"\\<>;=]/g, '\\$&');
}
