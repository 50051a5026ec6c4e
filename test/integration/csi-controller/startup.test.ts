/**
 * loam-controller's CSI socket before the API server can be reached: the socket is served at once,
 * Probe says not ready and calls that need the caches are UNAVAILABLE (a CO retries both); once the
 * API server answers, Probe turns ready and the calls work, without a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { createKubeClients, loadKubeConfig } from '../../../src/kube/index.js';
import { freePort } from '../../../tools/testenv/ports.js';
import { controlPlane } from '../setup.js';
import { createRequest, grpcError, relayTo, startControllerEndpoint, waitProbeReady } from './support.js';

describe('csi controller before the API server can be reached', function () {
  this.timeout(90_000);

  it('serves the socket at once; Probe is not ready and CreateVolume is UNAVAILABLE until the API server answers, then both work', async () => {
    const cp = controlPlane();
    const port = await freePort();
    const relay = relayTo(cp.apiPort, port);
    const dir = await mkdtemp(join(tmpdir(), 'loam-csi-kc-'));
    const kubeconfig = join(dir, 'kubeconfig');
    // The serving certificate names 127.0.0.1, so TLS holds through the relay's port.
    await cp.writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`);
    const started = Date.now();
    const endpoint = await startControllerEndpoint(createKubeClients(loadKubeConfig({ kubeconfigPath: kubeconfig })), 20_000);
    try {
      assert.ok(Date.now() - started < 5_000, `the socket is served without waiting for the API server (${Date.now() - started} ms)`);
      const probe = await endpoint.client.call<{ ready?: { value: boolean } }>('Identity', 'Probe', {});
      assert.equal(probe.ready?.value, false, 'Probe: not ready while the caches are empty');
      await assert.rejects(
        endpoint.client.call('Controller', 'CreateVolume', createRequest('pvc-before-sync'), 3_000),
        grpcError(status.UNAVAILABLE, /CreateVolume: loam-controller has not loaded LocalVolumes, LocalVolumeReplicas and LocalStorageNodes from the API server yet .*retry/),
      );

      await relay.open();
      await waitProbeReady(endpoint.client, 45_000);
      const list = await endpoint.client.call<{ entries: unknown[] }>('Controller', 'ListVolumes', {});
      assert.ok(Array.isArray(list.entries), 'ListVolumes answers from the filled cache');
    } finally {
      await endpoint.stop();
      await relay.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
