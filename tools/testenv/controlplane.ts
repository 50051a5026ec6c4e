/**
 * A real, local Kubernetes control plane for tests, the demo and manual use: etcd and kube-apiserver
 * on 127.0.0.1 with free random ports, serving certificates made at start, a static admin token, an
 * admin kubeconfig in a temp folder, kube-scheduler on request, and the CRDs of `crds/` applied and
 * Established. Everything it starts lives under one temp folder and is stopped by `stop()`.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { execa } from 'execa';
import { ensureTestenvBin } from './bin.js';
import { issueServingCertificate, makeCertificates, type Certificates } from './certs.js';
import { EgressProxy } from './egress.js';
import { freePort } from './ports.js';
import { ManagedProcess } from './process.js';
import { waitFor } from './wait.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ControlPlaneOptions {
  /** Folder of CRD manifests applied at start (default: the repo's `crds/`). */
  crdDir?: string;
  /** Extra IP SANs for the serving certificate (e.g. the address a VM guest uses). */
  extraServingIps?: string[];
  /** Extra kube-apiserver flags (e.g. `--watch-cache-sizes=configmaps#0` to watch etcd directly). */
  apiServerArgs?: string[];
  /** Print process output to the console instead of only to log files. */
  verbose?: boolean;
  /**
   * An audit policy (`audit.k8s.io/v1` Policy): kube-apiserver then writes the requests it selects
   * to `auditLogPath`, one JSON event a line, before it answers (blocking mode), so a test can read
   * who was allowed or refused what (the RBAC test of the chart).
   */
  auditPolicy?: Record<string, unknown>;
  /** Cluster mode, for real kubelet nodes (the VM tier's cluster); see {@link ClusterModeOptions}. */
  cluster?: ClusterModeOptions;
}

/**
 * Cluster mode: what real nodes and their pods need of the API server, with the host still dialling
 * nothing off loopback.
 * - ServiceAccount tokens: the ServiceAccount admission plugin runs, and kube-controller-manager (when
 *   started) runs its default controllers plus node-lifecycle (which lifts the not-ready taint).
 * - The `kubernetes` Service's endpoint is `advertiseAddress`:{@link ControlPlane.apiPort}, the
 *   address guests reach the host's loopback API server at (a QEMU guestfwd of that port), while
 *   kube-apiserver still binds only 127.0.0.1.
 * - Every connection kube-apiserver makes to the cluster (kubelets, pods, services) goes over a unix
 *   socket to {@link ControlPlane.egress}, which refuses it unless the harness forwarded that node
 *   address to a loopback port; node addresses are used as InternalIPs only, never resolved as names.
 */
export interface ClusterModeOptions {
  /** The address guests reach the API server at (QEMU guestfwd), e.g. 10.0.2.100; also a serving-certificate SAN. */
  advertiseAddress: string;
}

/** kube-controller-manager's controllers in cluster mode: all but node-ipam (nodes get their pod ranges from the harness). */
const clusterControllers = ['*', '-node-ipam-controller'];

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Marker every temp folder of a control plane carries, so leftovers can be found by name. */
export const tempPrefix = 'loam-testenv-';

export class ControlPlane {
  readonly dir: string;
  readonly binDir: string;
  readonly etcdPort: number;
  readonly apiPort: number;
  readonly kubeconfigPath: string;
  readonly token: string;
  private readonly certs: Certificates;
  private readonly opts: ControlPlaneOptions;
  private etcd?: ManagedProcess;
  private apiserver?: ManagedProcess;
  private scheduler?: ManagedProcess;
  private controllerManager?: ManagedProcess;
  private stoppedFlag = false;
  /** The `cluster` egress proxy (cluster mode only): what kube-apiserver tried to dial, and the forwards. */
  egress?: EgressProxy;
  /** The `controlplane` egress proxy (cluster mode only): webhooks called by URL; loopback passes. */
  controlPlaneEgress?: EgressProxy;

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  private constructor(init: { dir: string; binDir: string; etcdPort: number; apiPort: number; certs: Certificates; token: string; opts: ControlPlaneOptions }) {
    this.dir = init.dir;
    this.binDir = init.binDir;
    this.etcdPort = init.etcdPort;
    this.apiPort = init.apiPort;
    this.certs = init.certs;
    this.token = init.token;
    this.opts = init.opts;
    this.kubeconfigPath = path.join(init.dir, 'kubeconfig');
  }

  /** Starts etcd and kube-apiserver, writes the kubeconfig and applies the CRDs. */
  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binDir = await ensureTestenvBin();
    const dir = await mkdtemp(path.join(tmpdir(), tempPrefix));
    let cp: ControlPlane | undefined;
    try {
      const advertised = opts.cluster ? [opts.cluster.advertiseAddress] : [];
      const certs = await makeCertificates(path.join(dir, 'pki'), ['127.0.0.1', ...advertised, ...(opts.extraServingIps ?? [])]);
      const token = certs.adminToken;
      const [etcdPort, apiPort] = [await freePort(), await freePort()];
      cp = new ControlPlane({ dir, binDir, etcdPort, apiPort, certs, token, opts });
      const self = cp;
      // Whatever way this process ends, its children are killed (process.ts) and its files go.
      process.once('exit', () => { if (!self.stopped) rmSync(dir, { recursive: true, force: true }); });
      await cp.writeKubeconfig(cp.kubeconfigPath, `https://127.0.0.1:${apiPort}`);
      await cp.startEtcd();
      if (opts.cluster) {
        cp.egress = await EgressProxy.start(path.join(dir, 'egress-cluster.sock'));
        cp.controlPlaneEgress = await EgressProxy.start(path.join(dir, 'egress-controlplane.sock'), { loopback: true });
      }
      await cp.startApiServer();
      await cp.applyCrds(opts.crdDir ?? path.join(repoRoot, 'crds'));
      return self;
    } catch (err) {
      const logs = cp ? await cp.logTail(30) : '';
      await cp?.stop();
      await rm(dir, { recursive: true, force: true });
      throw new Error(`the test control plane did not start: ${(err as Error).message}\n${logs}`, { cause: err });
    }
  }

  /** The audit log file (written only when `auditPolicy` was given). */
  get auditLogPath(): string {
    return path.join(this.dir, 'audit.log');
  }

  get url(): string {
    return `https://127.0.0.1:${this.apiPort}`;
  }

  /** The API server as guests and pods reach it in cluster mode (the `kubernetes` Service's endpoint). */
  get clusterUrl(): string | undefined {
    return this.opts.cluster ? `https://${this.opts.cluster.advertiseAddress}:${this.apiPort}` : undefined;
  }

  /** A fresh KubeConfig for the admin user (each caller gets its own object). */
  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  /** Writes an admin kubeconfig that names `server` (a VM guest reaches the API server under another address). */
  async writeKubeconfig(file: string, server: string): Promise<void> {
    const ca = await readFile(this.certs.caCertFile);
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'loam-test', cluster: { server, 'certificate-authority-data': ca.toString('base64') } }],
      users: [{ name: 'admin', user: { token: this.token } }],
      contexts: [{ name: 'loam-test', context: { cluster: 'loam-test', user: 'admin' } }],
      'current-context': 'loam-test',
    };
    await writeFile(file, YAML.stringify(doc), { mode: 0o600 });
  }

  /** A serving certificate signed by this control plane's CA (which `caCert()` returns), e.g. for a webhook. */
  async issueServingCertificate(name: string, sans: string[]): Promise<{ certFile: string; keyFile: string }> {
    const certFile = path.join(this.dir, 'pki', `${name}.crt`);
    const keyFile = path.join(this.dir, 'pki', `${name}.key`);
    await issueServingCertificate(this.certs, certFile, keyFile, name, sans);
    return { certFile, keyFile };
  }

  /** The PEM of the CA that signed the serving certificates (a webhook configuration's caBundle). */
  caCert(): Promise<Buffer> {
    return readFile(this.certs.caCertFile);
  }

  /** Runs the testenv kubectl against this control plane; never throws on a non-zero exit. */
  async kubectl(args: string[], input?: string): Promise<CommandResult> {
    const r = await execa(path.join(this.binDir, 'kubectl'), ['--kubeconfig', this.kubeconfigPath, ...args], {
      reject: false,
      input,
      env: { KUBECONFIG: this.kubeconfigPath },
    });
    return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
  }

  private async startEtcd(): Promise<void> {
    const peerPort = await freePort();
    const client = `http://127.0.0.1:${this.etcdPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    this.etcd = new ManagedProcess('etcd', path.join(this.binDir, 'etcd'), [
      '--name', 'loam-test',
      '--data-dir', path.join(this.dir, 'etcd'),
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `loam-test=${peer}`,
      // Test data is thrown away: skip fsync, which dominates latency on a small VM disk.
      '--unsafe-no-fsync',
      '--log-level', 'warn',
    ], path.join(this.dir, 'etcd.log'), this.opts.verbose);
    await this.etcd.start();
    const etcd = this.etcd;
    await waitFor('etcd health', async () => {
      etcd.exitedEarly();
      const res = await fetch(`${client}/health`).catch(() => undefined);
      return res?.ok === true;
    }, 30_000);
  }

  /** Starts kube-apiserver (again, on the same port, after `stopApiServer`) and waits for /readyz. */
  async startApiServer(): Promise<void> {
    if (this.apiserver?.running) return;
    const c = this.certs;
    const audit = this.opts.auditPolicy ? await this.writeAuditPolicy(this.opts.auditPolicy) : [];
    this.apiserver = new ManagedProcess('kube-apiserver', path.join(this.binDir, 'kube-apiserver'), [
      '--etcd-servers', `http://127.0.0.1:${this.etcdPort}`,
      '--bind-address', '127.0.0.1',
      ...(this.opts.cluster ? await this.clusterModeArgs(this.opts.cluster) : [
        '--advertise-address', '127.0.0.1',
        // The 'kubernetes' Service endpoints cannot be a loopback address, and nothing here needs them.
        '--endpoint-reconciler-type', 'none',
        // No kube-controller-manager runs, so no namespace gets a default ServiceAccount.
        '--disable-admission-plugins', 'ServiceAccount',
      ]),
      '--secure-port', String(this.apiPort),
      '--cert-dir', path.join(this.dir, 'pki'),
      '--tls-cert-file', c.servingCertFile,
      '--tls-private-key-file', c.servingKeyFile,
      '--client-ca-file', c.caCertFile,
      '--token-auth-file', c.tokenFile,
      '--authorization-mode', 'Node,RBAC',
      '--service-account-issuer', 'https://kubernetes.default.svc',
      '--service-account-key-file', c.serviceAccountPublicKeyFile,
      '--service-account-signing-key-file', c.serviceAccountKeyFile,
      '--service-cluster-ip-range', '10.96.0.0/16',
      '--allow-privileged=true',
      '--v', '1',
      ...audit,
      ...(this.opts.apiServerArgs ?? []),
    ], path.join(this.dir, 'kube-apiserver.log'), this.opts.verbose);
    await this.apiserver.start();
    const apiserver = this.apiserver;
    await waitFor('kube-apiserver /readyz', () => apiserver.exitedEarly() || this.ready(), 90_000);
  }

  /** kube-apiserver flags of cluster mode (see {@link ClusterModeOptions}); writes the egress selector configuration. */
  private async clusterModeArgs(cluster: ClusterModeOptions): Promise<string[]> {
    if (!this.egress || !this.controlPlaneEgress) throw new Error('cluster mode: the egress proxies are not running');
    const file = path.join(this.dir, 'egress-selector.yaml');
    const via = (proxy: EgressProxy): Record<string, unknown> => ({ proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: proxy.socketPath } } });
    await writeFile(file, YAML.stringify({
      apiVersion: 'apiserver.k8s.io/v1beta1',
      kind: 'EgressSelectorConfiguration',
      // cluster: kubelets, pods, services (service webhooks); controlplane: webhooks by URL. etcd stays direct (loopback).
      egressSelections: [
        { name: 'cluster', connection: via(this.egress) },
        { name: 'controlplane', connection: via(this.controlPlaneEgress) },
      ],
    }));
    return [
      // The lease endpoint reconciler writes this address and the secure port into the 'kubernetes'
      // Service's endpoints; kube-apiserver itself listens on --bind-address only.
      '--advertise-address', cluster.advertiseAddress,
      '--endpoint-reconciler-type', 'lease',
      '--egress-selector-config-file', file,
      // The address the harness forwards; a Hostname would be looked up through the host's resolver.
      '--kubelet-preferred-address-types', 'InternalIP',
    ];
  }

  /** Writes the audit policy file; returns the kube-apiserver flags that use it. */
  private async writeAuditPolicy(policy: Record<string, unknown>): Promise<string[]> {
    const file = path.join(this.dir, 'audit-policy.yaml');
    await writeFile(file, YAML.stringify(policy));
    return ['--audit-policy-file', file, '--audit-log-path', this.auditLogPath, '--audit-log-mode', 'blocking', '--audit-log-format', 'json'];
  }

  /** Compacts etcd's history up to `revision` (a resourceVersion), as kube-apiserver does every few minutes. */
  async compactEtcd(revision: string): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.etcdPort}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) });
    if (!res.ok) throw new Error(`etcd compaction to ${revision} failed: ${res.status} ${await res.text()}`);
  }

  /** Stops kube-apiserver only (etcd keeps the data), to test what clients do when it is gone. */
  async stopApiServer(): Promise<void> {
    await this.apiserver?.stop();
  }

  /** True when kube-apiserver answers /readyz with 200. */
  async ready(): Promise<boolean> {
    const ca = await readFile(this.certs.caCertFile);
    return new Promise((resolve) => {
      const req = https.get(`${this.url}/readyz`, { ca, headers: { Authorization: `Bearer ${this.token}` }, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
  }

  /** Starts kube-scheduler with an optional KubeSchedulerConfiguration (YAML text; its kubeconfig is filled in). */
  async startScheduler(configYaml?: string): Promise<void> {
    if (this.scheduler?.running) return;
    const port = await freePort();
    const configFile = path.join(this.dir, 'kube-scheduler.yaml');
    const config = configYaml ? YAML.parse(configYaml) : { apiVersion: 'kubescheduler.config.k8s.io/v1', kind: 'KubeSchedulerConfiguration' };
    config.clientConnection = { ...(config.clientConnection ?? {}), kubeconfig: this.kubeconfigPath };
    config.leaderElection = { leaderElect: false };
    await writeFile(configFile, YAML.stringify(config));
    this.scheduler = new ManagedProcess('kube-scheduler', path.join(this.binDir, 'kube-scheduler'), [
      '--config', configFile,
      '--bind-address', '127.0.0.1',
      '--secure-port', String(port),
      '--v', '1',
    ], path.join(this.dir, 'kube-scheduler.log'), this.opts.verbose);
    await this.scheduler.start();
    await waitHealthy(this.scheduler, port);
  }

  async stopScheduler(): Promise<void> {
    await this.scheduler?.stop();
  }

  /**
   * Starts kube-controller-manager (PV binding, garbage collection, namespace deletion) for tests that
   * need the cluster's own controllers; tests that do not ask for it run without.
   */
  async startControllerManager(controllers = this.opts.cluster ? clusterControllers : ['*', '-node-ipam-controller', '-node-lifecycle-controller', '-taint-eviction-controller', '-device-taint-eviction-controller']): Promise<void> {
    if (this.controllerManager?.running) return;
    const port = await freePort();
    this.controllerManager = new ManagedProcess('kube-controller-manager', path.join(this.binDir, 'kube-controller-manager'), [
      '--kubeconfig', this.kubeconfigPath,
      '--authentication-kubeconfig', this.kubeconfigPath,
      '--authorization-kubeconfig', this.kubeconfigPath,
      '--bind-address', '127.0.0.1',
      '--secure-port', String(port),
      '--leader-elect=false',
      '--controllers', controllers.join(','),
      '--service-account-private-key-file', this.certs.serviceAccountKeyFile,
      '--root-ca-file', this.certs.caCertFile,
      '--v', '1',
    ], path.join(this.dir, 'kube-controller-manager.log'), this.opts.verbose);
    await this.controllerManager.start();
    await waitHealthy(this.controllerManager, port);
  }

  async stopControllerManager(): Promise<void> {
    await this.controllerManager?.stop();
  }

  /**
   * Applies every CRD in `dir` (server-side apply through kubectl, which sends the manifests as they
   * are: the typed client would drop `x-kubernetes-*` keys such as CEL rules) and waits until each is
   * Established.
   */
  async applyCrds(dir: string): Promise<string[]> {
    let files: string[] = [];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
    } catch {
      return [];
    }
    const names: string[] = [];
    for (const file of files) {
      for (const doc of YAML.parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
        const crd = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
        if (crd?.kind === 'CustomResourceDefinition' && crd.metadata?.name) names.push(crd.metadata.name);
      }
    }
    if (names.length === 0) return names;
    const applied = await this.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'loam-testenv', ...files.flatMap((f) => ['-f', path.join(dir, f)])]);
    if (applied.exitCode !== 0) throw new Error(`applying the CRDs of ${dir} failed: ${applied.stderr.trim()}`);
    const client = this.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
    for (const name of names) {
      let version = '';
      await waitFor(`CRD ${name} Established`, async () => {
        const crd = await client.readCustomResourceDefinition({ name });
        version = crd.spec.versions.find((v) => v.storage)?.name ?? '';
        return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;
      }, 30_000);
      // Established is not yet served: until its storage is initialised the API server answers 429.
      const [plural, ...group] = name.split('.');
      await waitFor(`CRD ${name} served`, async () => (await this.kubectl(['get', '--raw', `/apis/${group.join('.')}/${version}/${plural}?limit=1`])).exitCode === 0, 30_000, 100);
    }
    return names;
  }

  /** Stops every process it started and removes its temp folder. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stoppedFlag) return;
    this.stoppedFlag = true;
    await this.scheduler?.stop();
    await this.controllerManager?.stop();
    await this.apiserver?.stop();
    await this.egress?.close();
    await this.controlPlaneEgress?.close();
    await this.etcd?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The last lines of each component's log, for a failing test's report. */
  async logTail(lines = 40): Promise<string> {
    const out: string[] = [];
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      const text = await readFile(path.join(this.dir, `${name}.log`), 'utf8').catch(() => '');
      if (text) out.push(`--- ${name}\n${text.split('\n').slice(-lines).join('\n')}`);
    }
    return out.join('\n');
  }
}

/** Waits for a component's /healthz on its self-signed secure port; fails at once if it exits. */
function waitHealthy(proc: ManagedProcess, port: number): Promise<void> {
  const healthy = (): Promise<boolean> => new Promise((resolve) => {
    const req = https.get(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
  return waitFor(`${proc.name} /healthz`, () => proc.exitedEarly() || healthy(), 60_000);
}
