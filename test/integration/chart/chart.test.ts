/**
 * The Helm chart helm/loam: lint clean, every values combination the tests use renders objects the
 * real API server accepts (server-side dry run, the chart's CRDs applied for real first), typos in
 * values are refused naming the key, and the rendered objects carry what a storage add-on needs.
 * No pod runs here: the VM cluster (test/e2e) installs the chart on real kubelets.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { V1Container, V1MutatingWebhook, V1PodSpec } from '@kubernetes/client-node';
import { allKinds } from '../../../src/api/index.js';
import { volumeParametersOf } from '../../../src/csi/validate.js';
import { pinnedImageNames } from '../../../tools/testenv/images.js';
import { controlPlane } from '../setup.js';
import { entryPointOptions } from './entry-flags.js';
import { chartDir, container, flag, helm, portOf, releaseNamespace, Rendered, setArgs, type KubeObject } from './render.js';

/** The values combinations of this file, each rendered and dry-run against the API server. */
const combinations: Record<string, Record<string, string>> = {
  'default (mode scheduler, webhook on)': {},
  'mode extender': { 'scheduler.mode': 'extender', 'scheduler.extenderListen': '0.0.0.0:18099' },
  'mode none': { 'scheduler.mode': 'none' },
  'webhook off': { 'scheduler.webhook.enabled': 'false' },
  'classes off': { 'storageClasses.loam-hdd.enabled': 'false', 'storageClasses.loam-ssd.enabled': 'false', 'storageClasses.loam-nvme.enabled': 'false', 'storageClasses.loam-ssd-ha.enabled': 'false' },
  'custom image, registrar sidecar, other kubelet dir, HA class as default': {
    'image.repository': 'registry.example.com/storage/loam',
    'image.tag': '1.2.3',
    'image.pullPolicy': 'Always',
    'imagePullSecrets[0].name': 'regcred',
    'node.kubeletDir': '/var/lib/k0s/kubelet',
    'node.nodeDriverRegistrar.enabled': 'true',
    'storageClasses.loam-ssd-ha.enabled': 'true',
    'storageClasses.loam-ssd-ha.default': 'true',
  },
};

const loamContainers = ['loam-node', 'loam-controller', 'loam-scheduler'];

function allContainers(pod: V1PodSpec): V1Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** The port number a probe's named port stands for in its container. */
function probePort(c: V1Container, port: unknown): number {
  if (typeof port === 'number') return port;
  const p = c.ports?.find((x) => x.name === port);
  assert.ok(p, `${c.name}: probe port "${String(port)}" is not a port of the container`);
  return p.containerPort;
}

describe('chart: helm/loam', function () {
  this.timeout(60_000);
  const rendered = new Map<string, Rendered>();

  before(async () => {
    for (const [name, values] of Object.entries(combinations)) rendered.set(name, await Rendered.of(values));
  });
  const render = (name: keyof typeof combinations): Rendered => rendered.get(name)!;
  const defaults = (): Rendered => render('default (mode scheduler, webhook on)');

  it('passes helm lint --strict with the default values and every combination', async () => {
    for (const [name, values] of Object.entries(combinations)) {
      const r = await helm(['lint', '--strict', chartDir, '-n', releaseNamespace, ...setArgs(values)]);
      assert.equal(r.exitCode, 0, `helm lint --strict (${name}) failed:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, `helm lint (${name}) warns:\n${r.stdout}`);
    }
  });

  it('renders, for every combination, objects the API server accepts (server-side dry run; the chart CRDs applied for real)', async () => {
    const crds = await controlPlane().applyCrds(path.join(chartDir, 'crds'));
    assert.deepEqual(crds.sort(), allKinds.map((k) => `${k.plural}.loam.io`).sort(), 'the chart carries one CRD per kind of src/api');
    const ns = await controlPlane().kubectl(['create', 'namespace', releaseNamespace]);
    assert.ok(ns.exitCode === 0 || /AlreadyExists/.test(ns.stderr), ns.stderr);
    // All at once: each kubectl spends most of its time waiting for the API server (discovery first).
    const results = await Promise.all([...rendered].map(async ([name, r]) => ({ name, r, applied: await controlPlane().kubectl(['apply', '--dry-run=server', '-f', '-'], r.text) })));
    for (const { name, r, applied } of results) {
      assert.equal(applied.exitCode, 0, `kubectl apply --dry-run=server of the chart (${name}) failed:\n${applied.stderr}`);
      const accepted = applied.stdout.trim().split('\n').filter((l) => l.endsWith('(server dry run)'));
      assert.equal(accepted.length, r.objects.length, `${name}: every object is accepted:\n${applied.stdout}`);
    }
  });

  it('refuses a typo in the values with a message naming the key', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ 'imagee.tag': 'x' }, /additional propert(y|ies) 'imagee' not allowed/],
      [{ 'scheduler.mdoe': 'extender' }, /additional propert(y|ies) 'mdoe' not allowed/],
      [{ 'scheduler.mode': 'schedular' }, /scheduler[/.]mode[\s\S]*'scheduler', 'extender', 'none'/],
      [{ 'storageClasses.loam-sdd.enabled': 'true' }, /additional propert(y|ies) 'loam-sdd' not allowed/],
      [{ 'storageClasses.loam-ssd.poolClass': 'Tape' }, /poolClass[\s\S]*'HDD', 'SSD', 'NVMe'/],
    ];
    for (const [values, message] of cases) {
      const r = await helm(['template', 'loam', chartDir, '-n', releaseNamespace, ...setArgs(values)]);
      assert.notEqual(r.exitCode, 0, `helm accepted ${JSON.stringify(values)}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, message);
    }
    const twoDefaults = await helm(['template', 'loam', chartDir, ...setArgs({ 'storageClasses.loam-ssd.default': 'true', 'storageClasses.loam-hdd.default': 'true' })]);
    assert.notEqual(twoDefaults.exitCode, 0);
    assert.match(twoDefaults.stderr, /only one class can be the default, but loam-hdd, loam-ssd all have default: true/);
  });

  it('gives every container resources and a securityContext; only loam-node is privileged; the others run as non-root on a read-only root', () => {
    for (const [name, r] of rendered) {
      for (const { object, pod } of r.workloads()) {
        const isNode = object.metadata.name === 'loam-node';
        if (!isNode) {
          assert.equal(pod.securityContext?.runAsNonRoot, true, `${name}: ${object.metadata.name} runs as non-root`);
          assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
        }
        for (const c of allContainers(pod)) {
          const where = `${name}: ${object.metadata.name}/${c.name}`;
          assert.ok(c.resources?.requests?.cpu && c.resources.requests.memory, `${where} requests cpu and memory`);
          assert.ok(c.resources?.limits?.memory, `${where} has a memory limit`);
          assert.ok(c.securityContext, `${where} has a securityContext`);
          if (isNode && c.name === 'loam-node') {
            assert.equal(c.securityContext.privileged, true, `${where} is privileged (device-mapper, mounts)`);
            continue;
          }
          assert.notEqual(c.securityContext.privileged, true, `${where} is not privileged`);
          assert.equal(c.securityContext.allowPrivilegeEscalation, false, where);
          assert.equal(c.securityContext.readOnlyRootFilesystem, true, where);
          assert.deepEqual(c.securityContext.capabilities?.drop, ['ALL'], where);
        }
      }
    }
  });

  it('probes /healthz (liveness) and /readyz (readiness) on each Loam server\'s --health-listen port', () => {
    for (const [name, r] of rendered) {
      for (const { object, pod } of r.workloads()) {
        for (const c of pod.containers.filter((x) => loamContainers.includes(x.name))) {
          const where = `${name}: ${object.metadata.name}/${c.name}`;
          const port = portOf(flag(c, 'health-listen'));
          assert.equal(c.livenessProbe?.httpGet?.path, '/healthz', where);
          assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', where);
          assert.equal(probePort(c, c.livenessProbe.httpGet.port), port, `${where}: liveness on the health port`);
          assert.equal(probePort(c, c.readinessProbe.httpGet.port), port, `${where}: readiness on the health port`);
        }
      }
    }
    const ports = ['loam-node', 'loam-controller', 'loam-scheduler'].map((n) => {
      const w = defaults().workloads().find((x) => x.object.metadata.name === n)!;
      return portOf(flag(container(w.pod, n), 'health-listen'));
    });
    assert.deepEqual(ports, [9808, 9809, 9810]);
  });

  it('gives every container with a liveness probe a startup probe on the same endpoint: a slow start (a loaded node) is not killed before it serves', () => {
    for (const [name, r] of rendered) {
      for (const { object, pod } of r.workloads()) {
        for (const c of pod.containers.filter((x) => x.livenessProbe)) {
          const where = `${name}: ${object.metadata.name}/${c.name}`;
          const startup = c.startupProbe;
          assert.ok(startup?.httpGet, `${where} has a startup probe`);
          assert.equal(startup.httpGet.path, c.livenessProbe!.httpGet?.path, where);
          assert.equal(startup.httpGet.port, c.livenessProbe!.httpGet?.port, where);
          assert.equal(startup.httpGet.scheme, c.livenessProbe!.httpGet?.scheme, where);
          // Measured on the VM tier's loaded 1-vCPU nodes: loam-node took more than the liveness
          // probe's 70 s to serve /healthz while five Loam containers started at once.
          assert.ok((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3) >= 300, `${where}: at least 5 min to start`);
        }
      }
    }
  });

  it('passes each Loam binary only options it parses, a value only to an option that takes one', async () => {
    for (const [name, r] of rendered) {
      for (const { object, pod } of r.workloads()) {
        for (const c of pod.containers.filter((x) => loamContainers.includes(x.name))) {
          assert.deepEqual(c.command, [c.name], `${object.metadata.name}/${c.name} runs its entry point from PATH`);
          const options = await entryPointOptions(c.name);
          for (const arg of c.args ?? []) {
            const m = /^--([a-z][a-z-]*)(=.*)?$/.exec(arg);
            assert.ok(m, `${name}: ${c.name} argument "${arg}" is a --flag or --flag=value`);
            const kind = options.get(m[1]!);
            assert.ok(kind, `${name}: ${c.name} has no option --${m[1]} (src/cmd/${c.name}.ts)`);
            assert.equal(kind, m[2] === undefined ? 'boolean' : 'string', `${name}: ${c.name} --${m[1]} is a ${kind} option`);
          }
        }
      }
    }
  });

  it('loam-node: on every node whatever its taints, critical, with the host paths, kubelet registration and the V8 flags of its entry point', async () => {
    const ds = defaults().get('DaemonSet', 'loam-node');
    const pod = (ds.spec as { template: { spec: V1PodSpec } }).template.spec;
    assert.ok(pod.tolerations?.some((t) => t.operator === 'Exists' && !t.key && !t.effect), 'a toleration without key or effect tolerates every taint');
    assert.equal(pod.priorityClassName, 'system-node-critical');
    assert.equal(pod.serviceAccountName, 'loam-node');
    const c = container(pod, 'loam-node');
    assert.equal(flag(c, 'node-name'), '$(NODE_NAME)');
    assert.equal(c.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
    assert.equal(flag(c, 'registration-dir'), '/var/lib/kubelet/plugins_registry');
    assert.equal(flag(c, 'csi-endpoint'), 'unix:///var/lib/kubelet/plugins/lvm.loam.io/csi.sock');
    assert.equal(flag(c, 'kubelet-dir'), '/var/lib/kubelet');
    // The PATH link runs the compiled entry point, whose first line carries the V8 flags.
    assert.deepEqual(c.command, ['loam-node']);
    const shebang = (await readFile('src/cmd/loam-node.ts', 'utf8')).split('\n')[0]!;
    assert.match(shebang, /^#!\/usr\/bin\/env -S node .*--lite-mode.*--max-semi-space-size=1/);

    const hostPathOf = new Map(pod.volumes!.map((v) => [v.name, v.hostPath?.path]));
    const mounts = new Map(c.volumeMounts!.map((m) => [hostPathOf.get(m.name), m]));
    const expectMount = (host: string, inside: string, opts: { readOnly?: boolean; propagation?: string }): void => {
      const m = mounts.get(host);
      assert.ok(m, `host ${host} is mounted`);
      assert.equal(m.mountPath, inside, `host ${host} at ${inside}`);
      assert.equal(m.readOnly ?? false, opts.readOnly ?? false, `host ${host} read-only: ${String(opts.readOnly ?? false)}`);
      assert.equal(m.mountPropagation, opts.propagation, `host ${host} propagation`);
    };
    expectMount('/dev', '/dev', {});
    expectMount('/sys', '/sys', { readOnly: true });
    expectMount('/run/udev', '/run/udev', { readOnly: true });
    expectMount('/lib/modules', '/lib/modules', { readOnly: true });
    expectMount('/var/lib/kubelet', '/var/lib/kubelet', { propagation: 'Bidirectional' });
    expectMount('/run/lvm', '/run/lvm', {});
    expectMount('/run/lock/lvm', '/run/lock/lvm', {});
    expectMount('/etc/lvm/backup', '/etc/lvm/backup', {});
    expectMount('/etc/lvm/archive', '/etc/lvm/archive', {});
    assert.equal(pod.hostNetwork, true, 'udev events reach only the host network namespace');
    assert.equal(pod.hostIPC, true, "LVM's udev cookies are semaphores of the host IPC namespace");

    // Another kubelet directory moves the mount, the socket and the registration together; the
    // upstream registrar then registers instead of loam-node.
    const other = render('custom image, registrar sidecar, other kubelet dir, HA class as default');
    const opod = (other.get('DaemonSet', 'loam-node').spec as { template: { spec: V1PodSpec } }).template.spec;
    const oc = container(opod, 'loam-node');
    assert.equal(flag(oc, 'csi-endpoint'), 'unix:///var/lib/k0s/kubelet/plugins/lvm.loam.io/csi.sock');
    assert.equal(flag(oc, 'registration-dir'), undefined);
    assert.equal(oc.volumeMounts!.find((m) => m.mountPath === '/var/lib/k0s/kubelet')?.mountPropagation, 'Bidirectional');
    const registrar = container(opod, 'node-driver-registrar');
    assert.equal(flag(registrar, 'kubelet-registration-path'), '/var/lib/k0s/kubelet/plugins/lvm.loam.io/csi.sock');
  });

  it('loam-controller: two replicas spread over nodes, leader election, the sidecars on one socket, a PodDisruptionBudget', () => {
    const r = defaults();
    const deploy = r.get('Deployment', 'loam-controller');
    const spec = deploy.spec as { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: V1PodSpec } };
    assert.equal(spec.replicas, 2);
    const pod = spec.template.spec;
    const anti = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    assert.equal(anti?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    assert.deepEqual(anti?.podAffinityTerm.labelSelector?.matchLabels, spec.selector.matchLabels);
    const loam = container(pod, 'loam-controller');
    assert.equal(flag(loam, 'leader-elect'), 'true');
    assert.equal(flag(loam, 'csi-endpoint'), 'unix:///csi/csi.sock');
    const provisioner = container(pod, 'csi-provisioner');
    for (const f of ['leader-election', 'extra-create-metadata', 'enable-capacity']) assert.equal(flag(provisioner, f), true, `csi-provisioner --${f}`);
    assert.equal(flag(provisioner, 'capacity-ownerref-level'), '2', 'CSIStorageCapacity owned by the Deployment (pod -> ReplicaSet -> Deployment)');
    const resizer = container(pod, 'csi-resizer');
    assert.equal(flag(resizer, 'leader-election'), true);
    for (const sidecar of [provisioner, resizer]) {
      assert.equal(flag(sidecar, 'csi-address'), '/csi/csi.sock');
      assert.deepEqual(sidecar.env?.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]), [['POD_NAME', 'metadata.name'], ['NAMESPACE', 'metadata.namespace']]);
    }
    const socketVolume = pod.volumes!.find((v) => v.emptyDir)!.name;
    for (const c of [loam, provisioner, resizer]) assert.equal(c.volumeMounts?.find((m) => m.name === socketVolume)?.mountPath, '/csi', `${c.name} shares the socket`);
    const pdb = r.get('PodDisruptionBudget', 'loam-controller');
    const pdbSpec = pdb.spec as { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
    assert.equal(pdbSpec.maxUnavailable, 1);
    assert.deepEqual(pdbSpec.selector.matchLabels, spec.selector.matchLabels);
    for (const [k, v] of Object.entries(pdbSpec.selector.matchLabels)) assert.equal(spec.template.metadata.labels[k], v, 'the PDB selects the controller pods');
  });

  it('mode scheduler: kube-scheduler with the extender on loopback, and the pod webhook whose certificate loam-scheduler makes', async () => {
    const r = defaults();
    const pod = (r.get('Deployment', 'loam-scheduler').spec as { template: { spec: V1PodSpec } }).template.spec;
    assert.deepEqual(pod.containers.map((c) => c.name), ['kube-scheduler', 'loam-scheduler']);
    assert.equal(pod.serviceAccountName, 'loam-scheduler');
    const config = YAML.parse((r.get('ConfigMap', 'loam-scheduler-config').data as Record<string, string>)['config.yaml']!);
    assert.equal(config.kind, 'KubeSchedulerConfiguration');
    assert.deepEqual(config.profiles.map((p: { schedulerName: string }) => p.schedulerName), ['loam-scheduler']);
    assert.deepEqual(config.leaderElection, { leaderElect: true, resourceName: 'loam-scheduler', resourceNamespace: releaseNamespace });
    // The same extender settings as the configuration the integration tests run kube-scheduler with.
    const documented = YAML.parse(await readFile('docs/scheduler/kube-scheduler-config.yaml', 'utf8'));
    assert.deepEqual(config.extenders, documented.extenders);
    const loam = container(pod, 'loam-scheduler');
    assert.equal(flag(loam, 'listen'), '127.0.0.1:8099');
    assert.equal(new URL(config.extenders[0].urlPrefix).port, '8099');
    assert.equal(flag(container(pod, 'kube-scheduler'), 'config'), '/etc/loam-scheduler/config.yaml');

    assert.equal(flag(loam, 'webhook-self-signed'), true);
    assert.equal(flag(loam, 'webhook-configuration-name'), 'loam-scheduler');
    assert.equal(flag(loam, 'webhook-service'), `loam-scheduler.${releaseNamespace}.svc`);
    assert.equal(flag(loam, 'no-webhook'), undefined);
    const webhookConfig = r.get('MutatingWebhookConfiguration', 'loam-scheduler');
    const [hook, ...more] = webhookConfig.webhooks as V1MutatingWebhook[];
    assert.equal(more.length, 0);
    assert.equal(hook!.failurePolicy, 'Ignore');
    assert.deepEqual(hook!.rules, [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }]);
    assert.deepEqual(hook!.clientConfig, { service: { name: 'loam-scheduler', namespace: releaseNamespace, path: '/mutate-pods', port: 443 } }, 'no caBundle: loam-scheduler patches it');
    const excluded = hook!.namespaceSelector?.matchExpressions?.find((e) => e.key === 'kubernetes.io/metadata.name');
    assert.deepEqual({ operator: excluded?.operator, values: [...(excluded?.values ?? [])].sort() }, { operator: 'NotIn', values: ['kube-system', releaseNamespace].sort() });
    const service = r.get('Service', 'loam-scheduler').spec as { ports: Array<{ port: number; targetPort: string }> };
    assert.deepEqual(service.ports.map((p) => p.port), [443]);
    assert.equal(probePort(loam, service.ports[0]!.targetPort), portOf(flag(loam, 'webhook-listen')), 'the Service reaches the webhook port');
  });

  it('mode extender: the extender alone on the configured address behind the Service; webhook off, or mode none: nothing of it', () => {
    const ext = render('mode extender');
    const pod = (ext.get('Deployment', 'loam-scheduler').spec as { template: { spec: V1PodSpec } }).template.spec;
    assert.deepEqual(pod.containers.map((c) => c.name), ['loam-scheduler']);
    const loam = container(pod, 'loam-scheduler');
    assert.equal(flag(loam, 'listen'), '0.0.0.0:18099');
    assert.equal(flag(loam, 'no-webhook'), true);
    const service = ext.get('Service', 'loam-scheduler').spec as { ports: Array<{ port: number; targetPort: string }> };
    assert.deepEqual(service.ports.map((p) => [p.port, probePort(loam, p.targetPort)]), [[18099, 18099]]);
    assert.equal(ext.find('MutatingWebhookConfiguration', 'loam-scheduler'), undefined);
    assert.equal(ext.find('ConfigMap', 'loam-scheduler-config'), undefined);

    const noHook = render('webhook off');
    const noHookPod = (noHook.get('Deployment', 'loam-scheduler').spec as { template: { spec: V1PodSpec } }).template.spec;
    assert.deepEqual(noHookPod.containers.map((c) => c.name), ['kube-scheduler', 'loam-scheduler']);
    assert.equal(flag(container(noHookPod, 'loam-scheduler'), 'no-webhook'), true);
    assert.equal(noHook.find('MutatingWebhookConfiguration', 'loam-scheduler'), undefined);
    assert.equal(noHook.find('Service', 'loam-scheduler'), undefined);

    const none = render('mode none');
    const schedulerObjects = none.objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'scheduler' || o.metadata.name.startsWith('loam-scheduler'));
    assert.deepEqual(schedulerObjects.map((o) => `${o.kind}/${o.metadata.name}`), []);
    assert.ok(none.find('DaemonSet', 'loam-node') && none.find('Deployment', 'loam-controller'));
  });

  it('CSIDriver lvm.loam.io and the StorageClasses, with the parameters the CSI controller reads', () => {
    for (const r of rendered.values()) {
      assert.deepEqual(r.get('CSIDriver', 'lvm.loam.io').spec, { attachRequired: false, podInfoOnMount: true, storageCapacity: true, fsGroupPolicy: 'File', volumeLifecycleModes: ['Persistent'] });
    }
    const classes = (r: Rendered): Record<string, KubeObject> => Object.fromEntries(r.all('StorageClass').map((c) => [c.metadata.name, c]));
    assert.deepEqual(Object.keys(classes(defaults())).sort(), ['loam-hdd', 'loam-nvme', 'loam-ssd'], 'loam-ssd-ha is off until replication exists');
    assert.deepEqual(Object.keys(classes(render('classes off'))), []);
    const all = classes(render('custom image, registrar sidecar, other kubelet dir, HA class as default'));
    const expected: Record<string, [string, number]> = { 'loam-hdd': ['HDD', 1], 'loam-ssd': ['SSD', 1], 'loam-nvme': ['NVMe', 1], 'loam-ssd-ha': ['SSD', 2] };
    assert.deepEqual(Object.keys(all).sort(), Object.keys(expected).sort());
    for (const [name, [poolClass, replicaCount]] of Object.entries(expected)) {
      const sc = all[name] as KubeObject & { provisioner: string; volumeBindingMode: string; allowVolumeExpansion: boolean; parameters: Record<string, string> };
      assert.equal(sc.provisioner, 'lvm.loam.io');
      assert.equal(sc.volumeBindingMode, 'WaitForFirstConsumer');
      assert.equal(sc.allowVolumeExpansion, true);
      // The controller's own parser: an unknown key or a bad value would throw here as in CreateVolume.
      const params = volumeParametersOf('CreateVolume', sc.parameters);
      assert.deepEqual([params.poolClass, params.replicaCount, params.fsType], [poolClass, replicaCount, 'ext4'], name);
      const isDefault = sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true';
      assert.equal(isDefault, name === 'loam-ssd-ha', `${name} is the default class only when a value says so`);
    }
    for (const sc of defaults().all('StorageClass')) assert.equal(sc.metadata.annotations, undefined, 'no default class by default');
  });

  it('uses the values\' image everywhere, pulls as told, and names only ServiceAccounts the chart makes', async () => {
    const custom = render('custom image, registrar sidecar, other kubelet dir, HA class as default');
    for (const { object, pod } of custom.workloads()) {
      assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }], object.metadata.name);
      for (const c of pod.containers) {
        assert.equal(c.imagePullPolicy, 'Always', `${object.metadata.name}/${c.name}`);
        if (loamContainers.includes(c.name)) assert.equal(c.image, 'registry.example.com/storage/loam:1.2.3');
      }
    }
    // Default: the image `npm run image` names (loam.io/loam:<package.json version>) and the sidecars testenv pins.
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    const chart = YAML.parse(await readFile(path.join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    assert.equal(chart.appVersion, pkg.version, "the chart's appVersion is Loam's version");
    const images = new Map(defaults().workloads().flatMap(({ pod }) => pod.containers.map((c) => [c.name, c.image!])));
    for (const n of loamContainers) assert.equal(images.get(n), `loam.io/loam:${pkg.version}`);
    // The names the VM cluster's images carry (built from the versions testenv pins).
    const pinned = await pinnedImageNames();
    assert.equal(images.get('csi-provisioner'), pinned.csiProvisioner);
    assert.equal(images.get('csi-resizer'), pinned.csiResizer);
    assert.equal(images.get('kube-scheduler'), pinned.kubeScheduler);

    for (const [name, r] of rendered) {
      const accounts = new Set(r.all('ServiceAccount').map((sa) => `${sa.metadata.namespace}/${sa.metadata.name}`));
      for (const { object, pod } of r.workloads()) {
        assert.ok(accounts.has(`${object.metadata.namespace}/${pod.serviceAccountName}`), `${name}: ${object.metadata.name} runs as ServiceAccount ${pod.serviceAccountName}, which the chart makes`);
      }
      for (const o of r.objects.filter((x) => x.metadata.namespace !== undefined && x.metadata.namespace !== 'kube-system' && x.metadata.namespace !== 'default')) {
        assert.equal(o.metadata.namespace, releaseNamespace, `${o.kind}/${o.metadata.name} lives in the release namespace`);
      }
    }
  });

  it('NOTES.txt tells what to do next: see the disks, claim them, make a first PVC', async () => {
    const r = await helm(['install', 'loam', chartDir, '-n', releaseNamespace, '--dry-run=server'], { KUBECONFIG: controlPlane().kubeconfigPath });
    assert.equal(r.exitCode, 0, r.stderr);
    const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
    assert.match(notes, /kubectl get localdisks/);
    assert.match(notes, /kind: LocalDiskClaim/);
    assert.match(notes, /kind: PersistentVolumeClaim[\s\S]*storageClassName: loam-ssd/);
    assert.match(notes, /StorageClasses of this release: loam-hdd loam-nvme loam-ssd\n/);
  });
});
