/**
 * Cluster mode of the test control plane (tools/testenv/controlplane.ts, `cluster`): the host never
 * dials a node. `kubectl logs/exec` make kube-apiserver connect to the pod's kubelet; in cluster mode
 * that connection goes to the egress proxy (tools/testenv/egress.ts), which refuses every target but
 * the loopback ports the harness forwards to a node (QEMU hostfwd), so a mistaken call fails on the
 * host with a clear message and no connection leaves loopback.
 *
 * How it can fail: one fake node's kubelet address is a real listener on 127.0.0.1. Kube-apiserver
 * dialling directly (as without cluster mode) reaches it; going through the proxy it must not. Another
 * node has the address a guest has (10.0.2.15): the proxy must see that target and refuse it. A third
 * is forwarded to a loopback "kubelet" (a TLS server here): its logs arrive, over loopback only.
 * Admission webhooks by Service or by a URL off loopback are refused the same way. And what pods need:
 * ServiceAccount tokens that authenticate, the not-ready taint lifted, the `kubernetes` Service
 * leading to the guests' address of the API server.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { waitFor } from '../../../tools/testenv/wait.js';

const namespace = 'default';
const guestAddress = '10.0.2.100';

describe('testenv cluster mode: what real nodes need, and the API server never dials off loopback', function () {
  this.timeout(3 * 60_000);
  let cp: ControlPlane;
  let listener: net.Server;
  let listenerPort: number;
  const listenerConnections: string[] = [];
  let kubelet: https.Server;
  let kubeletPort: number;

  before(async () => {
    listener = net.createServer((socket) => {
      listenerConnections.push(`${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    listenerPort = (listener.address() as AddressInfo).port;

    cp = await ControlPlane.start({ cluster: { advertiseAddress: guestAddress } });
    const { certFile, keyFile } = await cp.issueServingCertificate('fake-kubelet', ['IP:127.0.0.1', 'IP:10.0.2.16']);
    kubelet = https.createServer({ cert: await readFile(certFile), key: await readFile(keyFile) }, (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`hello from the forwarded kubelet: ${req.method} ${req.url}\n`);
    });
    await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
    kubeletPort = (kubelet.address() as AddressInfo).port;

    // In cluster mode the ServiceAccount admission plugin runs; no controller-manager here makes `default`.
    await cp.kubectl(['create', 'serviceaccount', 'default', '-n', namespace]);
    // Only an IP here, so that a direct dial would reach the listener rather than fail to resolve a name.
    await fakeNode('loam-fake-local', [{ type: 'InternalIP', address: '127.0.0.1' }], listenerPort);
    await fakeNode('loam-fake-guest', [{ type: 'InternalIP', address: '10.0.2.15' }, { type: 'Hostname', address: 'loam-fake-guest' }], 10250);
    await fakeNode('loam-fake-forwarded', [{ type: 'InternalIP', address: '10.0.2.16' }, { type: 'Hostname', address: 'loam-fake-forwarded' }], 10250);
    await fakeNode('loam-fake-named', [{ type: 'Hostname', address: 'loam-fake-named.example' }], 10250);
    for (const node of ['loam-fake-local', 'loam-fake-guest', 'loam-fake-forwarded', 'loam-fake-named']) await podOn(node);
  });

  after(async () => {
    await cp?.stop();
    listener?.close();
    kubelet?.close();
  });

  async function fakeNode(name: string, addresses: { type: string; address: string }[], port: number): Promise<void> {
    const created = await cp.kubectl(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } }));
    assert.equal(created.exitCode, 0, created.stderr);
    const status = { status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: port } } } };
    const patched = await cp.kubectl(['patch', 'node', name, '--subresource', 'status', '--type', 'merge', '-p', JSON.stringify(status)]);
    assert.equal(patched.exitCode, 0, patched.stderr);
  }

  async function podOn(node: string): Promise<void> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `pod-on-${node}`, namespace },
      spec: { nodeName: node, automountServiceAccountToken: false, containers: [{ name: 'main', image: 'loam.io/busybox:test' }] },
    };
    const created = await cp.kubectl(['create', '-f', '-'], JSON.stringify(pod));
    assert.equal(created.exitCode, 0, created.stderr);
  }

  it('kubectl logs and exec of a pod on a node with a loopback address fail without connecting to it', async () => {
    const logs = await cp.kubectl(['logs', '-n', namespace, 'pod-on-loam-fake-local']);
    const exec = await cp.kubectl(['exec', '-n', namespace, 'pod-on-loam-fake-local', '--', 'true']);
    assert.notEqual(logs.exitCode, 0, logs.stdout);
    assert.notEqual(exec.exitCode, 0, exec.stdout);
    assert.deepEqual(listenerConnections, [], 'kube-apiserver connected to the node address directly');
    const target = `127.0.0.1:${listenerPort}`;
    assert.ok(cp.egress?.attempts.some((a) => a.target === target && !a.forwarded), `the egress proxy saw no refused CONNECT ${target}: ${JSON.stringify(cp.egress?.attempts)}`);
    assert.match(logs.stderr, /never dials/, logs.stderr);
  });

  it('kubectl logs of a pod on a guest-address node fails on the host with a clear error, dialling nothing', async () => {
    const before = cp.egress?.attempts.length ?? 0;
    const logs = await cp.kubectl(['logs', '-n', namespace, 'pod-on-loam-fake-guest']);
    assert.notEqual(logs.exitCode, 0, logs.stdout);
    assert.match(logs.stderr, /10\.0\.2\.15:10250.*never dials/s, logs.stderr);
    // The node's InternalIP is the target as given: the name was not resolved on the host.
    const seen = cp.egress?.attempts.slice(before).map((a) => a.target);
    assert.deepEqual([...new Set(seen)], ['10.0.2.15:10250']);
    assert.deepEqual(listenerConnections, []);
  });

  it('a node known only by name is not looked up on the host', async () => {
    const before = cp.egress?.attempts.length ?? 0;
    const logs = await cp.kubectl(['logs', '-n', namespace, 'pod-on-loam-fake-named']);
    assert.notEqual(logs.exitCode, 0, logs.stdout);
    // Without cluster mode this was "dial tcp: lookup <name> on <the host's resolver>:53".
    assert.doesNotMatch(logs.stderr, /lookup/, logs.stderr);
    const seen = cp.egress?.attempts.slice(before) ?? [];
    assert.ok(seen.every((a) => !a.forwarded && a.target === 'loam-fake-named.example:10250'), JSON.stringify(seen));
  });

  it('a node address the harness forwards to a loopback port reaches that port only', async () => {
    cp.egress!.forward('10.0.2.16:10250', kubeletPort);
    const logs = await cp.kubectl(['logs', '-n', namespace, 'pod-on-loam-fake-forwarded']);
    assert.equal(logs.exitCode, 0, logs.stderr);
    assert.match(logs.stdout, /hello from the forwarded kubelet: GET \/containerLogs\/default\/pod-on-loam-fake-forwarded\/main/);
    assert.ok(cp.egress!.attempts.some((a) => a.target === '10.0.2.16:10250' && a.forwarded));
  });

  it('admission webhooks are refused too: by Service (cluster egress) and by URL off loopback (controlplane egress); loopback URLs pass', async () => {
    const [clusterBefore, urlBefore] = [cp.egress!.attempts.length, cp.controlPlaneEgress!.attempts.length];
    // A Service like the chart's webhook Service (kube-apiserver calls its ClusterIP, which leads into the guests).
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'egress-test', namespace }, spec: { ports: [{ port: 443, targetPort: 9443 }] } };
    const caBundle = (await cp.caCert()).toString('base64');
    const hook = (name: string, clientConfig: Record<string, unknown>, label: string): Record<string, unknown> => ({
      name,
      clientConfig: { ...clientConfig, caBundle },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
      objectSelector: { matchLabels: { 'loam.io/egress-test': label } },
      failurePolicy: 'Fail',
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
    });
    const webhooks = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'loam-egress-test' },
      webhooks: [
        hook('service.egress-test.loam.io', { service: { namespace, name: 'egress-test', port: 443, path: '/validate' } }, 'service'),
        hook('url.egress-test.loam.io', { url: 'https://10.0.2.18:9443/validate' }, 'url'),
        // A webhook the tests serve on the host's loopback still gets its calls (here the fake kubelet, which answers nonsense).
        hook('loopback.egress-test.loam.io', { url: `https://127.0.0.1:${kubeletPort}/validate` }, 'loopback'),
      ],
    };
    for (const doc of [service, webhooks]) {
      const created = await cp.kubectl(['create', '-f', '-'], JSON.stringify(doc));
      assert.equal(created.exitCode, 0, created.stderr);
    }
    const configMap = (label: string): string => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `egress-test-${label}`, namespace, labels: { 'loam.io/egress-test': label } } });
    try {
      for (const label of ['service', 'url']) {
        const created = await cp.kubectl(['create', '-f', '-'], configMap(label));
        assert.notEqual(created.exitCode, 0, created.stdout);
        assert.match(created.stderr, /never dials/, created.stderr);
      }
      const clusterIp = (await cp.kubectl(['get', 'service', 'egress-test', '-n', namespace, '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
      assert.deepEqual(cp.egress!.attempts.slice(clusterBefore).map((a) => [a.target, a.forwarded]), [[`${clusterIp}:443`, false]]);
      assert.notEqual((await cp.kubectl(['create', '-f', '-'], configMap('loopback'))).exitCode, 0);
      assert.deepEqual(cp.controlPlaneEgress!.attempts.slice(urlBefore).map((a) => [a.target, a.forwarded]), [['10.0.2.18:9443', false], [`127.0.0.1:${kubeletPort}`, true]]);
    } finally {
      await cp.kubectl(['delete', 'validatingwebhookconfiguration', 'loam-egress-test']);
    }
  });

  it('kube-controller-manager makes ServiceAccount tokens that authenticate, and lifts the not-ready taint of a Ready node', async () => {
    await cp.startControllerManager();
    assert.equal((await cp.kubectl(['create', 'namespace', 'loam-cluster-mode'])).exitCode, 0);
    await waitFor('the default ServiceAccount of a new namespace', async () => (await cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'loam-cluster-mode'])).exitCode === 0, 60_000);
    const token = await cp.kubectl(['create', 'token', 'default', '-n', 'loam-cluster-mode']);
    assert.equal(token.exitCode, 0, token.stderr);
    const whoami = await cp.kubectl(['auth', 'whoami', '--token', token.stdout.trim(), '-o', 'jsonpath={.status.userInfo.username}']);
    assert.equal(whoami.stdout, 'system:serviceaccount:loam-cluster-mode:default', whoami.stderr);

    const name = 'loam-fake-ready';
    await fakeNode(name, [{ type: 'InternalIP', address: '10.0.2.17' }], 10250);
    const taints = async (): Promise<string> => (await cp.kubectl(['get', 'node', name, '-o', 'jsonpath={.spec.taints[*].key}'])).stdout;
    // A kubelet's heartbeat: the Ready condition, renewed on every call.
    const heartbeat = async (status: 'True' | 'False'): Promise<void> => {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const ready = { type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady', message: 'fake', lastHeartbeatTime: now, lastTransitionTime: now };
      const patched = await cp.kubectl(['patch', 'node', name, '--subresource', 'status', '--type', 'merge', '-p', JSON.stringify({ status: { conditions: [ready] } })]);
      assert.equal(patched.exitCode, 0, patched.stderr);
    };
    await waitFor('the not-ready taint of a node that is not Ready', async () => {
      await heartbeat('False');
      return (await taints()).includes('node.kubernetes.io/not-ready');
    }, 60_000, 1000);
    await waitFor('node-lifecycle lifts the not-ready taint once the node is Ready', async () => {
      await heartbeat('True');
      return !(await taints()).includes('not-ready');
    }, 90_000, 1000);
  });

  it('advertises the guests\' address as the kubernetes Service endpoint while listening on loopback only', async () => {
    const slices = await cp.kubectl(['get', 'endpointslice', '-n', 'default', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'json']);
    assert.equal(slices.exitCode, 0, slices.stderr);
    const items = (JSON.parse(slices.stdout) as { items: { endpoints: { addresses: string[] }[]; ports: { port: number }[] }[] }).items;
    assert.deepEqual(items.flatMap((s) => s.endpoints.flatMap((e) => e.addresses)), [guestAddress]);
    assert.deepEqual(items.flatMap((s) => s.ports.map((p) => p.port)), [cp.apiPort]);
    assert.equal(cp.url, `https://127.0.0.1:${cp.apiPort}`);
    assert.equal(cp.clusterUrl, `https://${guestAddress}:${cp.apiPort}`);
    const listening = await readFile('/proc/net/tcp', 'utf8');
    const hexPort = cp.apiPort.toString(16).toUpperCase().padStart(4, '0');
    const binds = listening.split('\n').map((l) => l.trim().split(/\s+/)).filter((c) => c[3] === '0A' && c[1]?.endsWith(`:${hexPort}`)).map((c) => c[1]);
    assert.deepEqual(binds, [`0100007F:${hexPort}`]);
  });
});
