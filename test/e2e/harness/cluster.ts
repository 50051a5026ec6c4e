/**
 * A VM as a member of the host's test control plane: an admin kubeconfig that names the API server
 * as the guest reaches it (https://10.0.2.100:6443 through the user-mode NIC), and the host's kubectl,
 * which the guest runs from the shared root.
 */
import path from 'node:path';
import { readFile, rm } from 'node:fs/promises';
import type { ControlPlane } from '../../../tools/testenv/controlplane.js';
import { apiServerGuestUrl } from './network.js';
import { runDir } from './run.js';
import type { Vm } from './vm.js';

/** Where the guest keeps its kubeconfig; kubectl finds it there without flags. */
export const guestKubeconfigPath = '/root/.kube/config';

/** Writes the guest's kubeconfig (the VM needs `apiServerPort: cp.apiPort`); returns its guest path. */
export async function installGuestKubeconfig(vm: Vm, cp: ControlPlane): Promise<string> {
  const file = path.join(runDir(), `${vm.name}.kubeconfig`);
  await cp.writeKubeconfig(file, apiServerGuestUrl);
  try {
    await vm.writeFile(guestKubeconfigPath, await readFile(file), 0o600);
  } finally {
    await rm(file, { force: true });
  }
  return guestKubeconfigPath;
}

/** The testenv kubectl, as a path valid in the guest too. */
export function guestKubectl(cp: ControlPlane): string {
  return path.join(cp.binDir, 'kubectl');
}
