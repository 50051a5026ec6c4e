/**
 * Mocha global fixture of the integration tier: one real control plane (etcd + kube-apiserver, CRDs
 * from crds/ applied) for the whole run, stopped at the end, also on SIGINT/SIGTERM. The teardown
 * asserts that nothing the run started is still alive and no port it used is still bound.
 */
import { ControlPlane } from '../../tools/testenv/controlplane.js';
import { processesMentioning } from '../../tools/testenv/leftovers.js';
import { portInUse } from '../../tools/testenv/ports.js';

let current: ControlPlane | undefined;

/** The control plane of this run; only valid inside tests and hooks. */
export function controlPlane(): ControlPlane {
  if (!current) throw new Error('the integration control plane is not running (is test/integration/setup.ts loaded by mocha?)');
  return current;
}

export async function mochaGlobalSetup(): Promise<void> {
  const started = Date.now();
  current = await ControlPlane.start({ crdDir: process.env.LOAM_TEST_CRD_DIR });
  process.env.KUBECONFIG = current.kubeconfigPath;
  console.log(`  control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s at ${current.url} in ${current.dir}`);
  // A second signal (Ctrl-C twice, or a wrapper that sends SIGINT then SIGTERM) must not cut the cleanup short.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      void (current?.stop() ?? Promise.resolve()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

export async function mochaGlobalTeardown(): Promise<void> {
  const cp = current;
  if (!cp) return;
  await cp.stop();
  current = undefined;
  const left = await processesMentioning(cp.dir);
  const bound = [];
  for (const port of [cp.apiPort, cp.etcdPort]) if (await portInUse(port)) bound.push(port);
  if (left.length > 0 || bound.length > 0) {
    throw new Error(`the integration run left processes ${JSON.stringify(left)} and bound ports ${JSON.stringify(bound)}`);
  }
  console.log('  control plane stopped: no process or port left behind');
}
