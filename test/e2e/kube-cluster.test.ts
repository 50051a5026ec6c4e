/**
 * The VM cluster of real kubelet nodes (harness/kube-cluster.ts) does what later specs rely on: two
 * nodes Ready and schedulable, pods Running on each, pod traffic between nodes with the pods' own
 * addresses, the API server reached through the `kubernetes` Service with a pod's ServiceAccount
 * token, and a privileged pod with the host's /dev and Bidirectional mount propagation (what a CSI
 * node plugin needs). Pod logs and exec go through the guests, never through the kubelet's API.
 */
import assert from 'node:assert/strict';
import type * as k8s from '@kubernetes/client-node';
import { waitFor } from '../../tools/testenv/wait.js';
import { noteFigure } from './harness/figures.js';
import { busyboxImage, withKubeCluster, type KubeCluster } from './harness/kube-cluster.js';

const namespace = 'kube-cluster-e2e';
const propagationDir = '/var/lib/kubelet/loam-propagation-e2e';

/** A busybox pod pinned to `nodeName` through the scheduler (a node selector, not spec.nodeName). */
function busyboxPod(name: string, nodeName: string, script: string, extra: Partial<k8s.V1PodSpec> = {}, container: Partial<k8s.V1Container> = {}): k8s.V1Pod {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': nodeName },
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'main', image: busyboxImage, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...container }],
      ...extra,
    },
  };
}

describe('e2e: a cluster of VM nodes with real kubelets', function () {
  const cluster = withKubeCluster();
  let c: KubeCluster;
  const podIp: Record<string, string> = {};

  before(async function () {
    c = cluster();
    await c.core.createNamespace({ body: { metadata: { name: namespace } } });
    // Pods of a namespace are admitted once kube-controller-manager made its default ServiceAccount.
    await waitFor(`ServiceAccount ${namespace}/default`, async () => (await c.core.listNamespacedServiceAccount({ namespace })).items.some((sa) => sa.metadata?.name === 'default'), 60_000, 250);
  });

  after(async function () {
    if (!c) return;
    await c.core.deleteNamespace({ name: namespace }).catch(() => undefined);
    // A Bidirectional mount made by a pod stays on the node after the pod: remove it.
    await c.nodes[0]?.vm.runScript(`umount ${propagationDir} 2>/dev/null; rmdir ${propagationDir} 2>/dev/null; true`);
  });

  it('registers both nodes Ready without the not-ready taint, each with its link address as InternalIP', async function () {
    assert.equal(c.nodes.length, 2);
    const listed = (await c.core.listNode()).items;
    for (const node of c.nodes) {
      const n = listed.find((l) => l.metadata?.name === node.name);
      assert.ok(n, `Node ${node.name} is registered`);
      assert.equal(n.status?.conditions?.find((x) => x.type === 'Ready')?.status, 'True');
      assert.deepEqual((n.spec?.taints ?? []).map((t) => t.key), []);
      assert.equal(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, node.address);
      assert.equal(n.status?.nodeInfo?.kubeletVersion, 'v1.37.2');
      assert.match(n.status?.nodeInfo?.containerRuntimeVersion ?? '', /^containerd:\/\/2\./);
    }
    noteFigure('VM cluster start', `${(c.figures.startMs / 1000).toFixed(1)} s (QEMU start to both nodes Ready and untainted)`);
    console.log(`      cluster start ${(c.figures.startMs / 1000).toFixed(1)} s (QEMU start to both nodes Ready); images ready in ${(c.figures.imagesMs / 1000).toFixed(1)} s before`);
  });

  it('runs a busybox pod on each node', async function () {
    const [a, b] = c.nodes as [KubeCluster['nodes'][0], KubeCluster['nodes'][0]];
    const started = Date.now();
    // The server on a logs every request with the client's address (httpd -vv).
    await c.core.createNamespacedPod({ namespace, body: busyboxPod('server', a.name, 'mkdir -p /www && echo hello-from-$(hostname) > /www/index.html && exec httpd -f -vv -p 8080 -h /www') });
    await c.core.createNamespacedPod({ namespace, body: busyboxPod('client', b.name, 'exec sleep 3600') });
    const runningMs: string[] = [];
    for (const [name, node] of [['server', a], ['client', b]] as const) {
      const pod = await c.waitPodRunning(namespace, name, 120_000);
      runningMs.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(pod.spec?.nodeName, node.name);
      assert.ok(pod.status?.podIP?.startsWith(node.spec.podCidr.replace(/0\/24$/, '')), `pod ${name} has an address of ${node.spec.podCidr}: ${pod.status?.podIP}`);
      podIp[name] = pod.status!.podIP!;
    }
    noteFigure('VM cluster pod create to Running', runningMs.join(', '));
    console.log(`      pod create to Running: ${runningMs.join(', ')}`);
    for (const node of c.nodes) {
      const used = await node.memoryUsedMiB();
      noteFigure(`VM cluster memory in use on ${node.name}`, `${used} MiB of 1024 with one pod`);
      console.log(`      ${node.name}: ${used} MiB of 1024 in use with one pod`);
    }
  });

  it('carries pod-to-pod traffic across the nodes with the pods\' own addresses', async function () {
    assert.ok(podIp.server && podIp.client, 'the pods of the previous test run');
    const r = await c.exec(namespace, 'client', ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 ${podIp.server} 8080`]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 200 OK/);
    assert.match(r.stdout, /^hello-from-server$/m);
    // The server saw the client pod's address: no address translation between the nodes' pods.
    const log = await c.podLog(namespace, 'server');
    // httpd listens on IPv6 too, so it writes an IPv4 peer as [::ffff:a.b.c.d].
    const client = podIp.client.replace(/\./g, '\\.');
    assert.match(log, new RegExp(`^(${client}|\\[::ffff:${client}\\]):\\d+: response:200$`, 'm'), log);
  });

  it('a mistaken kubectl logs from the host fails on the host, refused by the egress proxy: kube-apiserver dials no guest', async function () {
    const before = c.cp.egress?.attempts.length ?? 0;
    const r = await c.cp.kubectl(['logs', '-n', namespace, 'server']);
    assert.notEqual(r.exitCode, 0, r.stdout);
    assert.match(r.stderr, /never dials/, r.stderr);
    const attempts = c.cp.egress?.attempts.slice(before) ?? [];
    assert.ok(attempts.length > 0, 'kube-apiserver went to the egress proxy');
    assert.deepEqual(attempts.filter((a) => a.forwarded), [], 'no connection was let through to a guest');
  });

  it('reaches the API server through the kubernetes Service, verified with the ServiceAccount CA, as the pod\'s ServiceAccount', async function () {
    assert.ok(c.loamImage, 'the cluster has Loam\'s image (node in it makes the request)');
    // What an in-cluster client does: the Service's address from the environment, the mounted token and CA.
    const script = `
      const fs = require('fs'), https = require('https');
      const dir = '/var/run/secrets/kubernetes.io/serviceaccount/';
      const host = process.env.KUBERNETES_SERVICE_HOST, port = process.env.KUBERNETES_SERVICE_PORT;
      console.log('service ' + host + ':' + port);
      const req = https.request({ host, port, method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', ca: fs.readFileSync(dir + 'ca.crt'),
        headers: { Authorization: 'Bearer ' + fs.readFileSync(dir + 'token', 'utf8'), 'Content-Type': 'application/json' } }, (res) => {
        let body = ''; res.on('data', (d) => { body += d; }); res.on('end', () => { console.log(res.statusCode + ' ' + body.replace(/\\n/g, ' ')); });
      });
      req.on('error', (e) => { console.log('error ' + e.message); process.exitCode = 1; });
      req.end(JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }));`;
    const started = Date.now();
    await c.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'in-cluster', namespace },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': c.nodes[1]!.name },
          restartPolicy: 'Never',
          containers: [{ name: 'main', image: c.loamImage, imagePullPolicy: 'IfNotPresent', command: ['node', '-e', script] }],
        },
      },
    });
    await waitFor('pod in-cluster to finish', async () => ['Succeeded', 'Failed'].includes((await c.pod(namespace, 'in-cluster')).status?.phase ?? ''), 180_000, 1000);
    const log = await c.podLog(namespace, 'in-cluster');
    console.log(`      in-cluster request done ${((Date.now() - started) / 1000).toFixed(1)} s after the pod's creation`);
    assert.match(log, /^service 10\.96\.0\.1:443$/m);
    const answer = /^201 (.*)$/m.exec(log);
    assert.ok(answer, log);
    const review = JSON.parse(answer[1]!) as { status?: { userInfo?: { username?: string } } };
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${namespace}:default`);
  });

  it('runs a privileged pod with the host\'s /dev and Bidirectional mount propagation into the kubelet directory', async function () {
    const node = c.nodes[0]!;
    const script = `set -e; ls /dev/vda > /dev/null; mkdir -p /kubelet/loam-propagation-e2e; mount -t tmpfs -o size=1m loam-e2e /kubelet/loam-propagation-e2e; echo from-pod > /kubelet/loam-propagation-e2e/marker; echo mounted; exec sleep 3600`;
    await c.core.createNamespacedPod({
      namespace,
      body: busyboxPod('privileged', node.name, script, {
        volumes: [{ name: 'dev', hostPath: { path: '/dev' } }, { name: 'kubelet', hostPath: { path: '/var/lib/kubelet' } }],
      }, {
        securityContext: { privileged: true },
        volumeMounts: [{ name: 'dev', mountPath: '/dev' }, { name: 'kubelet', mountPath: '/kubelet', mountPropagation: 'Bidirectional' }],
      }),
    });
    await c.waitPodRunning(namespace, 'privileged', 120_000);
    assert.match(await c.podLog(namespace, 'privileged'), /^mounted$/m);
    // The mount the container made is the node's too (propagated back to the host).
    assert.equal((await node.vm.runOk(`grep -c ' ${propagationDir} tmpfs ' /proc/self/mounts; cat ${propagationDir}/marker`)).trim(), '1\nfrom-pod');
  });
});
