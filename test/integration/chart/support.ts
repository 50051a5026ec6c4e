/**
 * What the chart's RBAC test runs: the chart rendered by the testenv helm, kubeconfigs that
 * authenticate as a ServiceAccount with a real token (TokenRequest API), the chart's own container
 * arguments adapted to the host (sockets and ports), and child processes whose output is kept.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import YAML from 'yaml';
import { resourcePath, coreResources, type KubeClients } from '../../../src/kube/index.js';
import type { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { waitFor } from '../../../tools/testenv/wait.js';

const chartDir = 'helm/loam';

/** `helm template` of the templates named (e.g. `rbac-node.yaml`) with `values` (`key=value`). */
export async function renderChart(binDir: string, namespace: string, templates: string[], values: string[] = []): Promise<string> {
  const r = await execa(path.join(binDir, 'helm'), ['template', 'loam', chartDir, '--namespace', namespace,
    ...values.flatMap((v) => ['--set', v]), ...templates.flatMap((t) => ['--show-only', `templates/${t}`])], { reject: false });
  if (r.exitCode !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return r.stdout;
}

interface Container { name: string; args?: string[]; command?: string[] }
interface Workload { kind: string; metadata: { name: string }; spec: { template: { spec: { containers: Container[] } } }; data?: Record<string, string> }

/** The arguments of a container of a rendered Deployment or DaemonSet (command after the binary, or args). */
export function containerArgs(manifests: string, workload: string, container: string): string[] {
  const objects = YAML.parseAllDocuments(manifests).map((d) => d.toJS() as Workload | null);
  const w = objects.find((o) => o?.metadata.name === workload && (o.kind === 'Deployment' || o.kind === 'DaemonSet'));
  const c = w?.spec.template.spec.containers.find((x) => x.name === container);
  if (!c) throw new Error(`the chart renders no container ${container} in ${workload}`);
  return c.args ?? c.command?.slice(1) ?? [];
}

/** A value of a rendered ConfigMap. */
export function configMapValue(manifests: string, name: string, key: string): string {
  const cm = YAML.parseAllDocuments(manifests).map((d) => d.toJS() as Workload | null).find((o) => o?.kind === 'ConfigMap' && o.metadata.name === name);
  const value = cm?.data?.[key];
  if (value === undefined) throw new Error(`the chart renders no ConfigMap ${name} with ${key}`);
  return value;
}

/**
 * The chart's arguments as they run on the host: `$(VAR)` expanded from `env`, `--flag=value` of
 * each flag in `replace` given the new value (or dropped when null), `add` appended.
 */
export function onHost(args: string[], env: Record<string, string>, replace: Record<string, string | null>, add: string[] = []): string[] {
  const out: string[] = [];
  for (const arg of args) {
    const expanded = arg.replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v] ?? `$(${v})`);
    const flag = /^--([^=]+)/.exec(expanded)?.[1];
    if (flag !== undefined && flag in replace) {
      if (replace[flag] !== null) out.push(`--${flag}=${replace[flag]}`);
    } else {
      out.push(expanded);
    }
  }
  return [...out, ...add];
}

/** A kubeconfig that authenticates as ServiceAccount `namespace/name` with a token of the TokenRequest API. */
export async function serviceAccountKubeconfig(cp: ControlPlane, namespace: string, name: string): Promise<string> {
  const token = await cp.kubectl(['create', 'token', name, '-n', namespace, '--duration', '2h']);
  if (token.exitCode !== 0) throw new Error(`TokenRequest for ${namespace}/${name} failed: ${token.stderr}`);
  const file = path.join(cp.dir, `${name}.kubeconfig`);
  const doc = {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'loam-test', cluster: { server: cp.url, 'certificate-authority-data': (await cp.caCert()).toString('base64') } }],
    users: [{ name, user: { token: token.stdout.trim() } }],
    contexts: [{ name, context: { cluster: 'loam-test', user: name, namespace } }],
    'current-context': name,
  };
  await writeFile(file, YAML.stringify(doc), { mode: 0o600 });
  return file;
}

const options = { reject: false, all: true, stdin: 'ignore' } as const;

/** A child process whose output (stdout and stderr) is kept for assertions and failure messages. */
export class Child {
  readonly proc: ResultPromise<typeof options>;
  output = '';

  constructor(readonly name: string, file: string, args: string[], env: Record<string, string> = {}) {
    // Never the test run's KUBECONFIG (the shared control plane's admin): client-go prefers it to --kubeconfig.
    const { KUBECONFIG: _, ...inherited } = process.env;
    this.proc = execa(file, args, { ...options, extendEnv: false, env: { ...inherited, ...env } });
    this.proc.all?.on('data', (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-2_000_000);
    });
  }

  /** A Loam binary from src/cmd (through tsx, as the other integration tests run them). */
  static loam(name: string, args: string[]): Child {
    return new Child(name, process.execPath, ['--import', 'tsx', `src/cmd/${name}.ts`, ...args]);
  }

  get running(): boolean {
    return this.proc.exitCode === null;
  }

  async stop(): Promise<void> {
    if (this.running) this.proc.kill('SIGTERM');
    await this.proc;
  }

  tail(chars = 3000): string {
    return `--- ${this.name} (exit ${this.proc.exitCode ?? 'running'})\n${this.output.slice(-chars)}`;
  }
}

/**
 * Whether an Event about `kind/name` (cluster-scoped: its Events are in `default`) is repeated
 * within `timeoutMs`: the recorder writes a repeat as a patch of the Event's series.
 */
export async function repeatedEvent(c: KubeClients, kind: string, name: string, reason: string | undefined, timeoutMs: number): Promise<boolean> {
  interface Event { regarding?: { kind?: string; name?: string }; reason?: string; series?: { count?: number } }
  const repeated = async (): Promise<boolean> => {
    const list = await c.rest.request<{ items: Event[] }>('GET', resourcePath(coreResources.events, 'default'));
    return list.items.some((e) => e.regarding?.kind === kind && e.regarding.name === name && (reason === undefined || e.reason === reason) && (e.series?.count ?? 0) >= 2);
  };
  return waitFor('a repeated Event', repeated, timeoutMs, 200).then(() => true, () => false);
}
