/**
 * Which kind of object a call is about, as the REST API names it: group/version/plural. Core kinds
 * (group "") and custom resources are described the same way, so one informer and one apply helper
 * serve both.
 */
import type { KubernetesObject } from '@kubernetes/client-node';

export interface ResourceRef {
  /** API group; "" for the core group (`/api/v1`). */
  group: string;
  version: string;
  /** Lower-case plural of the kind, as in the URL (`configmaps`, `localdisks`). */
  plural: string;
  kind: string;
  /** True when objects live in a namespace. */
  namespaced: boolean;
}

/** Describes a custom resource (or any non-core kind) by group/version/plural. */
export function resourceRef(group: string, version: string, plural: string, kind: string, namespaced: boolean): ResourceRef {
  return { group, version, plural, kind, namespaced };
}

/** Core and well-known kinds Loam works with. */
export const coreResources = {
  configMaps: resourceRef('', 'v1', 'configmaps', 'ConfigMap', true),
  nodes: resourceRef('', 'v1', 'nodes', 'Node', false),
  pods: resourceRef('', 'v1', 'pods', 'Pod', true),
  persistentVolumeClaims: resourceRef('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true),
  persistentVolumes: resourceRef('', 'v1', 'persistentvolumes', 'PersistentVolume', false),
  namespaces: resourceRef('', 'v1', 'namespaces', 'Namespace', false),
  storageClasses: resourceRef('storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false),
  leases: resourceRef('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  events: resourceRef('events.k8s.io', 'v1', 'events', 'Event', true),
} as const;

/** `group/version`, or just `version` for the core group: the object's apiVersion. */
export function apiVersionOf(ref: ResourceRef): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`;
}

/**
 * The URL path of a collection (no name) or of one object. A namespaced kind without a namespace
 * gives the all-namespaces collection.
 */
export function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  const root = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  const ns = ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  if (ref.namespaced && name !== undefined && !namespace) throw new Error(`${ref.kind} ${name} is namespaced: a namespace is required`);
  const obj = name !== undefined ? `/${encodeURIComponent(name)}` : '';
  const sub = subresource ? `/${subresource}` : '';
  return `${root}${ns}/${ref.plural}${obj}${sub}`;
}

/** The cache key of an object: `namespace/name`, or `name` for a cluster-scoped one (as client-go). */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key made by `objectKey` into namespace and name. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
