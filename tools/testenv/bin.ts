import path from 'node:path';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const buildScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'build.sh');
const tools = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'csi-provisioner', 'csi-resizer', 'csi-sanity', 'helm'];

let cached: Promise<string> | undefined;

/**
 * The folder holding the testenv binaries: `LOAM_TESTENV_BIN` when set, else whatever `build.sh`
 * prints last (it returns at once when the pinned versions are already built).
 */
export function ensureTestenvBin(): Promise<string> {
  cached ??= resolveBin();
  return cached;
}

async function resolveBin(): Promise<string> {
  let dir = process.env.LOAM_TESTENV_BIN;
  if (!dir) {
    const r = await execa('bash', [buildScript], { stderr: 'inherit', reject: false });
    if (r.exitCode !== 0) throw new Error(`tools/testenv/build.sh failed (exit ${r.exitCode}); run 'npm run testenv:build' to see why`);
    dir = String(r.stdout).trim().split('\n').pop() ?? '';
  }
  for (const tool of tools) {
    await access(path.join(dir, tool)).catch((cause: unknown) => {
      throw new Error(`testenv binary ${tool} is missing from ${dir}; run 'npm run testenv:build'`, { cause });
    });
  }
  return dir;
}
