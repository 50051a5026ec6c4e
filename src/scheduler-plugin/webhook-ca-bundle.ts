/**
 * Keeps the `caBundle` of every webhook of one MutatingWebhookConfiguration equal to the CA(s) the
 * webhook's certificate comes from. The configuration itself belongs to the chart; loam-scheduler
 * only writes `clientConfig.caBundle` (RBAC: get and patch of that one name).
 *
 * It is checked again every few seconds, not only written once: whatever replaces the configuration
 * without a caBundle (`helm upgrade --force`, `kubectl replace`, a delete and re-create) would
 * otherwise leave the webhook uncalled (failurePolicy Ignore) until the bundle is back. A missing configuration is a logged error and
 * the reason loam-scheduler is not ready, never a crash: it may simply not be installed yet.
 *
 * The write is a JSON patch that tests the resourceVersion and each webhook's name before it adds
 * the bundle at that index, so a configuration changed in between is read again, not mis-patched.
 */
import { componentLogger, type Logger } from '../common/logger.js';
import { apiErrorMessage, isConflict, isNotFound, isTransient, resourcePath, resourceRef, statusCodeOf, withRetry, type KubeClients } from '../kube/index.js';

export const mutatingWebhookConfigurations = resourceRef('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false);

interface WebhookConfiguration {
  metadata?: { resourceVersion?: string };
  webhooks?: Array<{ name?: string; clientConfig?: { caBundle?: string } }>;
}

type JsonPatchOp = { op: 'test' | 'add'; path: string; value: unknown };

/** The JSON patch that sets `caBundle` (base64 of the PEM bundle) on every webhook that lacks it; [] when none does. */
export function caBundlePatch(config: WebhookConfiguration, caBundle: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  (config.webhooks ?? []).forEach((webhook, i) => {
    if (webhook.clientConfig?.caBundle === caBundle) return;
    ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: webhook.name });
    ops.push({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle });
  });
  if (ops.length === 0) return [];
  return [{ op: 'test', path: '/metadata/resourceVersion', value: config.metadata?.resourceVersion }, ...ops];
}

export interface CaBundlePublisherOptions {
  clients: KubeClients;
  /** Name of the MutatingWebhookConfiguration (the chart's: loam-scheduler). */
  configurationName: string;
  /** How often the configuration is checked again (default 10 s). */
  intervalMs?: number;
  logger?: Logger;
}

export class CaBundlePublisher {
  private readonly log: Logger;
  private bundle?: string;
  private problem?: string = 'the CA bundle has not been written yet';
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly stopping = new AbortController();

  constructor(private readonly opts: CaBundlePublisherOptions) {
    this.log = opts.logger ?? componentLogger('scheduler-webhook');
  }

  /** undefined once every webhook of the configuration carries the current bundle; else why not. */
  status(): string | undefined {
    return this.problem;
  }

  /** Makes `pemBundle` the bundle to publish and publishes it now; resolves when written or failed (the periodic check tries again). */
  async publish(pemBundle: string): Promise<void> {
    this.bundle = Buffer.from(pemBundle).toString('base64');
    this.problem = 'the CA bundle has not been written yet';
    await this.sync();
  }

  /** Checks the configuration again every interval. */
  start(): void {
    this.timer = setInterval(() => void this.sync(), this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }

  /** One check-and-write at a time; a check asked for while one runs waits for it and runs again. */
  private sync(): Promise<void> {
    const previous = this.running ?? Promise.resolve();
    const next = previous.then(() => this.write()).finally(() => {
      if (this.running === next) this.running = undefined;
    });
    this.running = next;
    return next;
  }

  private async write(): Promise<void> {
    const bundle = this.bundle;
    if (!bundle || this.stopping.signal.aborted) return;
    const name = this.opts.configurationName;
    const path = resourcePath(mutatingWebhookConfigurations, undefined, name);
    let patched = 0;
    try {
      await withRetry(async () => {
        const config = await this.opts.clients.rest.request<WebhookConfiguration>('GET', path);
        const patch = caBundlePatch(config, bundle);
        if (patch.length === 0) return;
        await this.opts.clients.rest.request('PATCH', path, { body: patch, contentType: 'application/json-patch+json' });
        patched = (patch.length - 1) / 2;
      }, {
        what: `patch caBundle of MutatingWebhookConfiguration ${name}`,
        signal: this.stopping.signal,
        // 409 or 422: a test op failed, the configuration changed under us; read it again.
        retryable: (err) => isTransient(err) || isConflict(err) || statusCodeOf(err) === 422,
      });
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      const problem = isNotFound(err)
        ? `MutatingWebhookConfiguration ${name} not found: install it (the chart does, with scheduler.webhook.enabled), or start loam-scheduler with --no-webhook`
        : `cannot write the caBundle of MutatingWebhookConfiguration ${name}: ${apiErrorMessage(err)}`;
      if (problem !== this.problem) this.log.error('the webhook CA bundle is not published; the API server cannot call the pod webhook', { error: problem });
      this.problem = problem;
      return;
    }
    if (patched > 0) this.log.info('webhook CA bundle published', { configuration: name, webhooks: patched });
    if (this.problem !== undefined && bundle === this.bundle) this.problem = undefined;
  }
}
