/**
 * `npm run testenv:up`: starts a control plane for manual use, prints `KUBECONFIG=<path>` and runs
 * until SIGINT/SIGTERM, then stops everything and removes its files.
 */
import { ControlPlane } from './controlplane.js';

const started = Date.now();
const cp = await ControlPlane.start({ extraServingIps: process.env.LOAM_EXTRA_SERVING_IPS?.split(',').filter(Boolean) });
console.error(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${cp.url}`);
console.error(`binaries: ${cp.binDir}`);
console.log(`KUBECONFIG=${cp.kubeconfigPath}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`${signal}: stopping the control plane`);
  await cp.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
setInterval(() => undefined, 1 << 30);
