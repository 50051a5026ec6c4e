/** Shared setup of the src/kube integration tests: a namespace per file and a test CRD with a status subresource. */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { controlPlane } from '../setup.js';
import { waitFor } from '../../../tools/testenv/wait.js';
import { resourceRef, type ResourceRef } from '../../../src/kube/resource.js';

/** A namespaced custom resource of the tests, with a schema (for strict validation) and a status subresource. */
export const widgets: ResourceRef = resourceRef('kubetest.loam.io', 'v1', 'widgets', 'Widget', true);

export interface Widget extends k8s.KubernetesObject {
  spec?: { size?: number; color?: string };
  status?: { phase?: string; count?: number; message?: string };
}

export async function createNamespace(prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  const core = controlPlane().kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Deletes a namespace without waiting (no controller-manager runs to finish it). */
export async function deleteNamespace(name: string): Promise<void> {
  const core = controlPlane().kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
}

export async function ensureWidgetCrd(): Promise<void> {
  const api = controlPlane().kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
  const name = `${widgets.plural}.${widgets.group}`;
  const body: k8s.V1CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name },
    spec: {
      group: widgets.group,
      scope: 'Namespaced',
      names: { plural: widgets.plural, singular: 'widget', kind: widgets.kind, listKind: 'WidgetList' },
      versions: [{
        name: widgets.version,
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', properties: { size: { type: 'integer' }, color: { type: 'string' } } },
              status: { type: 'object', properties: { phase: { type: 'string' }, count: { type: 'integer' }, message: { type: 'string' } } },
            },
          },
        },
      }],
    },
  };
  try {
    await api.createCustomResourceDefinition({ body });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  await waitFor(`CRD ${name} Established`, async () => {
    const crd = await api.readCustomResourceDefinition({ name });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
  }, 30_000);
}

/** Polls until `check` is true; fails with `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  await waitFor(what, check, timeoutMs, 20);
}

/** Brings kube-apiserver back after a test stopped it (idempotent). */
export async function restoreApiServer(): Promise<void> {
  await controlPlane().startApiServer();
}
