/** A thin client for the Loam API in tests: create/patch/read/delete by kind, and the API server's refusal message. */
import * as k8s from '@kubernetes/client-node';
import { group, plurals, version, type LoamObject } from '../../../src/api/index.js';
import { testLabel } from '../../unit/api/objects.js';
import { controlPlane } from '../setup.js';

type Kind = LoamObject['kind'];
type Of<K extends Kind> = Extract<LoamObject, { kind: K }>;

const pluralOf: Record<Kind, string> = {
  LocalDisk: plurals.localDisks,
  LocalDiskClaim: plurals.localDiskClaims,
  LocalDiskNode: plurals.localDiskNodes,
  LocalStorageNode: plurals.localStorageNodes,
  LocalVolume: plurals.localVolumes,
  LocalVolumeReplica: plurals.localVolumeReplicas,
};

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export class LoamTestClient {
  private readonly api: k8s.CustomObjectsApi;

  constructor(kc: k8s.KubeConfig) {
    this.api = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  /** Creates with strict field validation, as Loam's own writers do: unknown fields are errors, not dropped. */
  async create<T extends LoamObject>(obj: T): Promise<T> {
    return (await this.api.createClusterCustomObject({ group, version, plural: pluralOf[obj.kind], body: obj, fieldValidation: 'Strict' })) as T;
  }

  async get<K extends Kind>(kind: K, name: string): Promise<Of<K>> {
    return (await this.api.getClusterCustomObject({ group, version, plural: pluralOf[kind], name })) as Of<K>;
  }

  /** JSON merge patch of the main resource (spec, metadata). */
  async patch<K extends Kind>(kind: K, name: string, body: object): Promise<Of<K>> {
    return (await this.api.patchClusterCustomObject({ group, version, plural: pluralOf[kind], name, body, fieldValidation: 'Strict' }, mergePatch)) as Of<K>;
  }

  /** JSON merge patch of the /status subresource. */
  async patchStatus<K extends Kind>(kind: K, name: string, body: object): Promise<Of<K>> {
    return (await this.api.patchClusterCustomObjectStatus({ group, version, plural: pluralOf[kind], name, body, fieldValidation: 'Strict' }, mergePatch)) as Of<K>;
  }

  /** Creates the object, then writes its status through /status; returns what the server stored. */
  async createWithStatus<T extends LoamObject>(obj: T): Promise<T> {
    await this.create(obj);
    if (!obj.status) return (await this.get(obj.kind, obj.metadata.name!)) as T;
    return (await this.patchStatus(obj.kind, obj.metadata.name!, { status: obj.status })) as T;
  }

  /** Deletes every object the API tests labelled, of every kind. */
  async deleteTestObjects(): Promise<void> {
    for (const plural of Object.values(pluralOf)) {
      await this.api.deleteCollectionClusterCustomObject({ group, version, plural, labelSelector: labelSelector() });
    }
  }

  async list(kind: Kind): Promise<LoamObject[]> {
    const list = (await this.api.listClusterCustomObject({ group, version, plural: pluralOf[kind], labelSelector: labelSelector() })) as { items: LoamObject[] };
    return list.items;
  }
}

export function labelSelector(): string {
  return Object.entries(testLabel).map(([k, v]) => `${k}=${v}`).join(',');
}

/** The message of the API server's Status when the call is refused with 4xx; fails when the call succeeds. */
export async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code >= 400 && err.code < 500) {
      const body = typeof err.body === 'string' ? JSON.parse(err.body) as { message?: string } : err.body as { message?: string };
      return body.message ?? String(err.body);
    }
    throw err;
  }
  throw new Error('the API server accepted the object');
}

/**
 * A LoamTestClient for the enclosing describe block, made in `before` and cleaned up after each test
 * or after all of them; call the returned function inside tests.
 */
export function useLoamTestClient(cleanup: 'after' | 'afterEach' = 'after'): () => LoamTestClient {
  let client: LoamTestClient | undefined;
  before(() => {
    client = new LoamTestClient(controlPlane().kubeConfig());
  });
  (cleanup === 'after' ? after : afterEach)(async () => client?.deleteTestObjects());
  return () => client!;
}
