import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export interface Certificates {
  caCertFile: string;
  caKeyFile: string;
  servingCertFile: string;
  servingKeyFile: string;
  serviceAccountKeyFile: string;
  serviceAccountPublicKeyFile: string;
  tokenFile: string;
  adminToken: string;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A throw-away CA, a kube-apiserver serving certificate for `ips` (plus localhost), a service-account
 * signing key and a static token file whose one token belongs to system:masters.
 */
export async function makeCertificates(dir: string, ips: string[]): Promise<Certificates> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const f = (name: string): string => path.join(dir, name);
  const c: Certificates = {
    caCertFile: f('ca.crt'),
    caKeyFile: f('ca.key'),
    servingCertFile: f('apiserver.crt'),
    servingKeyFile: f('apiserver.key'),
    serviceAccountKeyFile: f('sa.key'),
    serviceAccountPublicKeyFile: f('sa.pub'),
    tokenFile: f('tokens.csv'),
    adminToken: randomBytes(24).toString('hex'),
  };
  await execa('openssl', ['req', '-x509', ...ecKey, '-keyout', c.caKeyFile, '-out', c.caCertFile, '-days', '2', '-subj', '/CN=loam-testenv-ca']);
  const sans = ['DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'IP:10.96.0.1', ...ips.map((ip) => `IP:${ip}`)];
  await issueServingCertificate(c, c.servingCertFile, c.servingKeyFile, 'kube-apiserver', sans);
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(c.serviceAccountKeyFile, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(c.serviceAccountPublicKeyFile, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(c.tokenFile, `${c.adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  return c;
}

/**
 * A serving certificate signed by the test CA, for `sans` (`DNS:name` or `IP:addr` entries): the
 * API server's, or a webhook's that the API server must trust.
 */
export async function issueServingCertificate(ca: Pick<Certificates, 'caCertFile' | 'caKeyFile'>, certFile: string, keyFile: string, commonName: string, sans: string[]): Promise<void> {
  const csr = `${certFile}.csr`;
  const ext = `${certFile}.ext`;
  await execa('openssl', ['req', '-new', ...ecKey, '-keyout', keyFile, '-out', csr, '-subj', `/CN=${commonName}`]);
  await writeFile(ext, `subjectAltName=${[...new Set(sans)].join(',')}\nextendedKeyUsage=serverAuth\n`);
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', ca.caCertFile, '-CAkey', ca.caKeyFile, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', certFile]);
}
