/**
 * Mutating admission webhook for pods: a pod that mounts a Loam volume gets
 * `spec.schedulerName: loam-scheduler`, so the scheduler that consults the extender places it.
 * Pods that name a scheduler of their own other than the default are left alone, and so are pods
 * in namespaces that the MutatingWebhookConfiguration excludes (label `loam.io/webhook=ignore`).
 * It never denies: an answer it cannot give leaves the pod unchanged.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { V1Pod } from '@kubernetes/client-node';
import { componentLogger } from '../common/logger.js';
import { ReloadingCertificate, type CertificateFiles, type CertificateSource } from './certificate.js';
import { BadRequest, closeServer, listenOn, readJson, replyJson } from './http.js';
import { driverName, type ClusterView } from './view.js';

const log = componentLogger('scheduler-webhook');
export const loamSchedulerName = 'loam-scheduler';

/** True when the pod mounts a claim (or an ephemeral volume) of a Loam StorageClass or a Loam PV. */
export function usesLoam(pod: V1Pod, view: ClusterView): boolean {
  const namespace = pod.metadata?.namespace ?? 'default';
  for (const vol of pod.spec?.volumes ?? []) {
    const template = vol.ephemeral?.volumeClaimTemplate?.spec;
    if (template?.storageClassName && view.storageClass(template.storageClassName)?.provisioner === driverName) return true;
    const claimName = vol.persistentVolumeClaim?.claimName;
    if (!claimName) continue;
    const pvc = view.claim(namespace, claimName);
    if (!pvc) continue;
    if (pvc.spec?.volumeName && view.persistentVolume(pvc.spec.volumeName)?.spec?.csi?.driver === driverName) return true;
    if (pvc.spec?.storageClassName && view.storageClass(pvc.spec.storageClassName)?.provisioner === driverName) return true;
  }
  return false;
}

interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; object?: V1Pod; namespace?: string };
}

/** The AdmissionReview answer for one request: allowed, with a JSON patch when the pod is Loam's. */
export function admit(review: AdmissionReview, view: ClusterView): object {
  const uid = review.request?.uid;
  if (!uid) throw new BadRequest('AdmissionReview.request.uid is missing');
  const pod = review.request?.object;
  const response: Record<string, unknown> = { uid, allowed: true };
  if (pod) {
    if (!pod.metadata?.namespace && review.request?.namespace) pod.metadata = { ...pod.metadata, namespace: review.request.namespace };
    const current = pod.spec?.schedulerName;
    if ((!current || current === 'default-scheduler') && usesLoam(pod, view)) {
      const patch = [{ op: current ? 'replace' : 'add', path: '/spec/schedulerName', value: loamSchedulerName }];
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
      log.info('pod sent to loam-scheduler', { pod: `${pod.metadata?.namespace}/${pod.metadata?.name ?? pod.metadata?.generateName ?? ''}` });
    }
  }
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export interface WebhookTls extends CertificateFiles {
  /** How often the files are checked for a new certificate (default 10 s). */
  reloadIntervalMs?: number;
}

export class PodWebhook {
  private server?: https.Server;
  private readonly certificate: CertificateSource;

  /** `tls`: certificate files, read again when they change, or a source of its own (the self-made certificate). */
  constructor(private readonly view: ClusterView, tls: WebhookTls | CertificateSource) {
    this.certificate = 'load' in tls ? tls : new ReloadingCertificate(tls, tls.reloadIntervalMs);
  }

  /** True while the server accepts connections. */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Serves with the certificate the files hold now, and with each new one they get later. */
  async listen(port = 0, host = '0.0.0.0'): Promise<AddressInfo> {
    const server = https.createServer(await this.certificate.load(), (req, res) => void this.handle(req, res));
    this.server = server;
    this.certificate.watch((pair) => server.setSecureContext(pair));
    const address = await listenOn(server, port, host);
    log.info('pod webhook listening', { address: address.address, port: address.port });
    return address;
  }

  async close(): Promise<void> {
    await this.certificate.stop();
    await closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/mutate-pods') {
      replyJson(res, 404, { error: 'use POST /mutate-pods' });
      return;
    }
    try {
      replyJson(res, 200, admit((await readJson(req)) as AdmissionReview, this.view));
    } catch (err) {
      log.warn('webhook request failed', { error: (err as Error).message });
      replyJson(res, err instanceof BadRequest ? 400 : 500, { error: (err as Error).message });
    }
  }
}
