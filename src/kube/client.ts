/**
 * Where the API server is and how to talk to it: a kubeconfig file given by path, else the
 * KUBECONFIG variable, else the in-cluster service account, else ~/.kube/config.
 */
import { existsSync } from 'node:fs';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { RestClient } from './rest.js';

const serviceAccountTokenFile = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConfigSource {
  /** A kubeconfig file; wins over everything else. */
  kubeconfigPath?: string;
  /** A context of the kubeconfig other than its current one. */
  context?: string;
}

/** Loads the KubeConfig from the first source that applies (see the module comment). */
export function loadKubeConfig(source: KubeConfigSource = {}, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (source.kubeconfigPath) kc.loadFromFile(source.kubeconfigPath);
    else if (env.KUBECONFIG) kc.loadFromDefault();
    else if (env.KUBERNETES_SERVICE_HOST && existsSync(serviceAccountTokenFile)) kc.loadFromCluster();
    else kc.loadFromDefault();
  } catch (err) {
    throw new Error(`cannot load a kubeconfig (${source.kubeconfigPath ?? env.KUBECONFIG ?? 'in-cluster or ~/.kube/config'})`, { cause: err });
  }
  if (source.context) kc.setCurrentContext(source.context);
  if (!kc.getCurrentCluster()) throw new Error('the kubeconfig names no current cluster');
  return kc;
}

/** The clients the rest of src/kube works with, all from one KubeConfig. */
export interface KubeClients {
  kubeConfig: KubeConfig;
  /** Raw JSON REST for any group/version/plural (lists, watches, apply, leases, events). */
  rest: RestClient;
  /** client-node's generated client for custom resources (status patches). */
  customObjects: CustomObjectsApi;
}

export function createKubeClients(kubeConfig: KubeConfig): KubeClients {
  return { kubeConfig, rest: new RestClient(kubeConfig), customObjects: kubeConfig.makeApiClient(CustomObjectsApi) };
}
