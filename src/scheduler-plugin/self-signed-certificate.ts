/**
 * The webhook's certificate made by loam-scheduler itself (`--webhook-self-signed`): a CA and a
 * serving certificate for the webhook Service, both in memory, the CA published as the caBundle of
 * the MutatingWebhookConfiguration, the serving certificate renewed at 2/3 of its lifetime.
 *
 * The CA outlives many serving certificates (10 lifetimes), so a renewal does not touch the
 * caBundle. When the CA itself nears its end (it would expire before a new serving certificate),
 * a new CA is made and the bundle published holds both, the new one and the old one, before the
 * new certificate is served: the API server trusts the webhook throughout.
 *
 * Only one replica may do this: two processes would each make a CA and overwrite the other's
 * bundle, and the API server would then reject the certificate of one of them. The chart's
 * Deployment runs one replica (docs/scheduler.md, "Certificate without cert-manager").
 */
import { componentLogger, type Logger } from '../common/logger.js';
import type { CertificateSource, KeyPair } from './certificate.js';
import type { CaBundlePublisher } from './webhook-ca-bundle.js';
import { issueServingCertificate, newCertificateAuthority, type CertificateAuthority, type ServingCertificate } from './webhook-cert.js';

export interface SelfSignedCertificateOptions {
  /** The DNS name the API server dials: `<service>.<namespace>.svc`. */
  serviceName: string;
  /** Lifetime of a serving certificate (renewed at 2/3 of it). */
  validityMs: number;
  publisher: Pick<CaBundlePublisher, 'publish'>;
  now?: () => number;
  logger?: Logger;
}

/** Serving certificates a CA signs over its lifetime. */
const caLifetimes = 10;
/** Renew when this much of a serving certificate's lifetime has passed. */
export const renewAfter = 2 / 3;

export class SelfSignedCertificate implements CertificateSource {
  private readonly log: Logger;
  private readonly now: () => number;
  private ca?: CertificateAuthority;
  private retiredCa?: CertificateAuthority;
  private serving?: ServingCertificate;
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;

  constructor(private readonly opts: SelfSignedCertificateOptions) {
    this.log = opts.logger ?? componentLogger('scheduler-webhook');
    this.now = opts.now ?? Date.now;
  }

  /** The PEM bundle the API server must trust: the current CA, and the previous one while it is still valid. */
  caBundle(): string {
    const live = [this.ca, this.retiredCa].filter((ca): ca is CertificateAuthority => ca !== undefined && ca.notAfter.getTime() > this.now());
    return live.map((ca) => ca.certPem).join('');
  }

  /** Makes the first CA and serving certificate and starts publishing the bundle (in the background: a missing configuration must not stop the server). */
  async load(): Promise<KeyPair> {
    const pair = await this.next();
    void this.opts.publisher.publish(this.caBundle());
    return pair;
  }

  /** Renews at 2/3 of each serving certificate's lifetime and hands the new pair to `use`. */
  watch(use: (pair: KeyPair) => void): void {
    const schedule = (): void => {
      const notAfter = this.serving!.notAfter.getTime();
      const notBefore = notAfter - this.opts.validityMs;
      const delay = Math.max(1_000, notBefore + (notAfter - notBefore) * renewAfter - this.now());
      this.timer = setTimeout(() => {
        this.renewing = this.renew(use).finally(() => {
          this.renewing = undefined;
          if (this.timer) schedule();
        });
      }, Math.min(delay, 2 ** 31 - 1));
      this.timer.unref();
    };
    schedule();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  private async renew(use: (pair: KeyPair) => void): Promise<void> {
    try {
      const caBefore = this.ca;
      const pair = await this.next();
      // A new CA must be trusted before anything it signed is served.
      if (this.ca !== caBefore) await this.opts.publisher.publish(this.caBundle());
      use(pair);
      this.log.info('webhook certificate renewed', { notAfter: this.serving!.notAfter.toISOString(), caNotAfter: this.ca!.notAfter.toISOString() });
    } catch (err) {
      this.log.error('cannot renew the webhook certificate; still serving the previous one, trying again later', { error: (err as Error).message });
    }
  }

  /** A new serving certificate, and a new CA first when the current one would expire before it. */
  private async next(): Promise<KeyPair> {
    const now = this.now();
    const validityMs = this.opts.validityMs;
    if (!this.ca || this.ca.notAfter.getTime() < now + validityMs) {
      if (this.ca) this.retiredCa = this.ca;
      this.ca = await newCertificateAuthority('loam-scheduler-webhook-ca', now, validityMs * caLifetimes);
    }
    this.serving = await issueServingCertificate(this.ca, this.opts.serviceName, now, validityMs);
    return { cert: this.serving.cert, key: this.serving.key };
  }
}
