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
  const openssl = (args: string[]): Promise<unknown> => execa('openssl', args, { cwd: dir });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ecKey, '-keyout', c.caKeyFile, '-out', c.caCertFile, '-days', '2', '-subj', '/CN=loam-testenv-ca']);
  await openssl(['req', '-new', ...ecKey, '-keyout', c.servingKeyFile, '-out', f('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  const sans = ['DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'IP:10.96.0.1', ...ips.map((ip) => `IP:${ip}`)];
  await writeFile(f('apiserver.ext'), `subjectAltName=${[...new Set(sans)].join(',')}\nextendedKeyUsage=serverAuth\n`);
  await openssl(['x509', '-req', '-in', f('apiserver.csr'), '-CA', c.caCertFile, '-CAkey', c.caKeyFile, '-CAcreateserial', '-days', '2', '-extfile', f('apiserver.ext'), '-out', c.servingCertFile]);
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(c.serviceAccountKeyFile, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(c.serviceAccountPublicKeyFile, sa.publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(c.tokenFile, `${c.adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });
  return c;
}
