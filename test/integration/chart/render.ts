/**
 * The chart as the tests see it: `helm template` (testenv's helm) of helm/loam with some `--set`
 * values, parsed into objects, and small lookups over them (objects by kind and name, the pod spec
 * of a workload, a container's flags).
 */
import path from 'node:path';
import { execa } from 'execa';
import YAML from 'yaml';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { ensureTestenvBin } from '../../../tools/testenv/bin.js';

export const chartDir = 'helm/loam';
export const releaseNamespace = 'loam-system';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface HelmResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs testenv's helm; never throws on a non-zero exit. */
export async function helm(args: string[], env: Record<string, string> = {}): Promise<HelmResult> {
  const bin = path.join(await ensureTestenvBin(), 'helm');
  const r = await execa(bin, args, { reject: false, env });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

/** `--set` arguments from a flat map of value paths. */
export function setArgs(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
}

/** The chart rendered as `helm install loam helm/loam -n loam-system` would, with `values` set. */
export class Rendered {
  private constructor(readonly text: string, readonly objects: KubeObject[]) {}

  static async of(values: Record<string, string> = {}): Promise<Rendered> {
    // The kube version of testenv: helm's own default (v1.20) is older than any cluster Loam supports.
    const r = await helm(['template', 'loam', chartDir, '-n', releaseNamespace, '--kube-version', '1.37.2', ...setArgs(values)]);
    if (r.exitCode !== 0) throw new Error(`helm template ${JSON.stringify(values)} failed: ${r.stderr}`);
    const objects = YAML.parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeObject | null).filter((o): o is KubeObject => o !== null);
    return new Rendered(r.stdout, objects);
  }

  all(kind: string): KubeObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  find(kind: string, name: string): KubeObject | undefined {
    return this.objects.find((o) => o.kind === kind && o.metadata.name === name);
  }

  get(kind: string, name: string): KubeObject {
    const o = this.find(kind, name);
    if (!o) throw new Error(`the chart rendered no ${kind} ${name}; it has ${this.objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
    return o;
  }

  /** Every workload (DaemonSet, Deployment) with its pod spec. */
  workloads(): Array<{ object: KubeObject; pod: V1PodSpec }> {
    return this.objects
      .filter((o) => o.kind === 'DaemonSet' || o.kind === 'Deployment')
      .map((object) => ({ object, pod: podSpec(object) }));
  }
}

export function podSpec(workload: KubeObject): V1PodSpec {
  return (workload.spec as { template: { spec: V1PodSpec } }).template.spec;
}

export function container(pod: V1PodSpec, name: string): V1Container {
  const c = pod.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}; the pod has ${pod.containers.map((x) => x.name).join(', ')}`);
  return c;
}

/** The value of `--flag=value` among a container's args, or true for a bare `--flag`; undefined when absent. */
export function flag(c: V1Container, name: string): string | true | undefined {
  for (const arg of [...(c.command ?? []), ...(c.args ?? [])]) {
    if (arg === `--${name}`) return true;
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}

/** The port of a `host:port` flag value. */
export function portOf(hostPort: string | true | undefined): number {
  const m = typeof hostPort === 'string' ? /:(\d+)$/.exec(hostPort) : null;
  if (!m) throw new Error(`"${String(hostPort)}" is not host:port`);
  return Number(m[1]);
}
