import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { SelfSignedCertificate } from '../../../src/scheduler-plugin/self-signed-certificate.js';
import { caBundlePatch } from '../../../src/scheduler-plugin/webhook-ca-bundle.js';
import { issueServingCertificate, newCertificateAuthority } from '../../../src/scheduler-plugin/webhook-cert.js';

const hour = 3_600_000;
const service = 'loam-scheduler.loam-system.svc';

/** The PEM blocks of a bundle, parsed. */
const certsOf = (pem: string): X509Certificate[] => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));

describe('webhook certificate (X.509)', function () {
  this.timeout(20_000);

  it('a CA signs a serving certificate for the service name only, valid for the asked lifetime, usable by TLS', async () => {
    const now = Date.now();
    const ca = await newCertificateAuthority('loam-test-ca', now, 10 * hour);
    const serving = await issueServingCertificate(ca, service, now, hour);
    const caCert = new X509Certificate(ca.certPem);
    const cert = new X509Certificate(serving.cert);
    assert.equal(caCert.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(caCert.publicKey), 'signed by the CA');
    assert.ok(cert.checkIssued(caCert));
    assert.equal(cert.checkHost(service), service);
    assert.equal(cert.checkHost('evil.example.com'), undefined);
    assert.equal(cert.subjectAltName, `DNS:${service}`);
    assert.equal(cert.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), true, 'serverAuth');
    const notAfter = new Date(cert.validTo).getTime();
    assert.ok(Math.abs(notAfter - (now + hour)) < 2_000, `valid for an hour (until ${cert.validTo})`);
    assert.ok(new Date(cert.validFrom).getTime() < now, 'backdated a little for clock skew');
    assert.ok(Math.abs(serving.notAfter.getTime() - notAfter) < 1_000, 'notAfter is what the certificate says');
    createSecureContext({ cert: serving.cert, key: serving.key });
  });
});

describe('caBundlePatch', () => {
  const bundle = Buffer.from('PEM').toString('base64');

  it('adds the bundle to every webhook that lacks it, guarded by the resourceVersion and each webhook name', () => {
    const config = { metadata: { resourceVersion: '42' }, webhooks: [{ name: 'a.loam.io', clientConfig: { caBundle: bundle } }, { name: 'b.loam.io', clientConfig: {} }, { name: 'c.loam.io', clientConfig: { caBundle: 'b2xk' } }] };
    assert.deepEqual(caBundlePatch(config, bundle), [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'test', path: '/webhooks/1/name', value: 'b.loam.io' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: bundle },
      { op: 'test', path: '/webhooks/2/name', value: 'c.loam.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: bundle },
    ]);
  });

  it('is empty when every webhook already has it, or there are none', () => {
    assert.deepEqual(caBundlePatch({ metadata: { resourceVersion: '1' }, webhooks: [{ name: 'a', clientConfig: { caBundle: bundle } }] }, bundle), []);
    assert.deepEqual(caBundlePatch({ metadata: { resourceVersion: '1' } }, bundle), []);
  });
});

describe('SelfSignedCertificate', function () {
  this.timeout(30_000);

  it('publishes its CA, keeps it across renewals, and renews the serving certificate before it expires', async () => {
    const published: string[] = [];
    let now = Date.now();
    const source = new SelfSignedCertificate({ serviceName: service, validityMs: 3 * hour, publisher: { publish: async (b) => { published.push(b); } }, now: () => now });
    const first = await source.load();
    assert.equal(published.length, 1);
    const [ca] = certsOf(published[0]!);
    assert.ok(new X509Certificate(first.cert).verify(ca!.publicKey));

    // 2/3 of the lifetime later the timer fires (at once here: the clock is moved, the 1 s floor applies).
    now += 2 * hour + 1;
    const renewed = await new Promise<{ cert: Buffer }>((resolve) => source.watch(resolve));
    await source.stop();
    const cert = new X509Certificate(renewed.cert);
    assert.notEqual(cert.serialNumber, new X509Certificate(first.cert).serialNumber, 'a new certificate');
    assert.ok(cert.verify(ca!.publicKey), 'signed by the same CA');
    assert.equal(published.length, 1, 'the caBundle is not written again for a renewal under the same CA');
    assert.ok(Math.abs(new Date(cert.validTo).getTime() - (now + 3 * hour)) < 2_000);
  });

  it('makes a new CA before the old one would expire, and publishes both before serving from the new one', async () => {
    const published: string[] = [];
    let now = Date.now();
    const served: Buffer[] = [];
    const source = new SelfSignedCertificate({ serviceName: service, validityMs: hour, publisher: { publish: async (b) => { published.push(b); } }, now: () => now });
    await source.load();
    const [oldCa] = certsOf(published[0]!);
    // The CA lives 10 lifetimes: after 9.5, a new serving certificate would outlive it.
    now += 9.5 * hour;
    await new Promise<void>((resolve) => source.watch((pair) => { served.push(pair.cert); resolve(); }));
    await source.stop();
    assert.equal(published.length, 2, 'the new bundle is published');
    const bundle = certsOf(published[1]!);
    assert.equal(bundle.length, 2, 'new CA and the old one, still valid');
    assert.notEqual(bundle[0]!.fingerprint256, oldCa!.fingerprint256);
    assert.equal(bundle[1]!.fingerprint256, oldCa!.fingerprint256);
    assert.ok(new X509Certificate(served[0]!).verify(bundle[0]!.publicKey), 'served from the new CA');
  });
});
