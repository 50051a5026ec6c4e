/**
 * The X.509 pieces of the webhook's own certificate (no cert-manager): a CA made in memory and a
 * serving certificate it signs for the webhook Service's DNS name. The API server trusts the CA
 * through the `caBundle` of the MutatingWebhookConfiguration (webhook-ca-bundle.ts) and checks the
 * serving certificate against the name it dials, `<service>.<namespace>.svc`.
 *
 * Keys are RSA 2048 made by Node's own crypto (native, off the event loop); node-forge only builds
 * and signs the certificates. The CA key never leaves the process: when the process ends, nobody
 * can sign for that CA any more, and the next process makes its own.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import type { KeyPair } from './certificate.js';

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface ServingCertificate extends KeyPair {
  notAfter: Date;
}

/** Tolerated clock difference between this process and the API server. */
const backdateMs = 5 * 60_000;

const generateRsa = promisify(generateKeyPair);

async function rsaKeyPair(): Promise<{ publicKey: forge.pki.PublicKey; privateKey: forge.pki.rsa.PrivateKey; privatePem: string }> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey: forge.pki.publicKeyFromPem(publicKey), privateKey: forge.pki.privateKeyFromPem(privateKey), privatePem: privateKey };
}

/** A positive serial number of 128 random bits (RFC 5280: unique per CA, at most 20 bytes). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function newCertificate(publicKey: forge.pki.PublicKey, now: number, validityMs: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - backdateMs);
  cert.validity.notAfter = new Date(now + validityMs);
  return cert;
}

/** A self-signed CA that may sign server certificates only (path length 0). */
export async function newCertificateAuthority(commonName: string, now: number, validityMs: number): Promise<CertificateAuthority> {
  const keys = await rsaKeyPair();
  const cert = newCertificate(keys.publicKey, now, validityMs);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem, notAfter: cert.validity.notAfter };
}

/** A TLS server certificate for `dnsName`, signed by `ca`. */
export async function issueServingCertificate(ca: CertificateAuthority, dnsName: string, now: number, validityMs: number): Promise<ServingCertificate> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const keys = await rsaKeyPair();
  const cert = newCertificate(keys.publicKey, now, validityMs);
  cert.setSubject([{ name: 'commonName', value: dnsName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: dnsName }] },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(ca.keyPem), forge.md.sha256.create());
  return { cert: Buffer.from(forge.pki.certificateToPem(cert)), key: Buffer.from(keys.privatePem), notAfter: cert.validity.notAfter };
}
