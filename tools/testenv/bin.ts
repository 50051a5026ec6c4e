import path from 'node:path';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const here = path.dirname(fileURLToPath(import.meta.url));

/** What a build script of this folder makes: the control plane (build.sh) or the VM nodes' binaries (build-node.sh). */
interface BinBuild {
  script: string;
  npmScript: string;
  /** Names a folder built elsewhere (CI passes the install step's result on). */
  envVar: string;
  tools: string[];
}

const controlPlane: BinBuild = {
  script: 'build.sh',
  npmScript: 'testenv:build',
  envVar: 'LOAM_TESTENV_BIN',
  tools: ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'csi-provisioner', 'csi-resizer', 'csi-sanity', 'helm'],
};

const node: BinBuild = {
  script: 'build-node.sh',
  npmScript: 'testenv:build-node',
  envVar: 'LOAM_TESTENV_NODE_BIN',
  tools: ['kubelet', 'kube-proxy', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc', 'pause'],
};

const cached = new Map<BinBuild, Promise<string>>();

/**
 * The folder holding the testenv binaries: `LOAM_TESTENV_BIN` when set, else whatever `build.sh`
 * prints last (it returns at once when the pinned versions are already built).
 */
export function ensureTestenvBin(): Promise<string> {
  return ensure(controlPlane);
}

/**
 * The folder holding what the VM cluster's nodes run (kubelet, kube-proxy, containerd, runc, pause):
 * `LOAM_TESTENV_NODE_BIN` when set, else whatever `build-node.sh` prints last. It is under ~/.cache,
 * which the guests see.
 */
export function ensureNodeBin(): Promise<string> {
  return ensure(node);
}

function ensure(build: BinBuild): Promise<string> {
  let dir = cached.get(build);
  if (!dir) {
    dir = resolveBin(build);
    cached.set(build, dir);
  }
  return dir;
}

async function resolveBin(build: BinBuild): Promise<string> {
  let dir = process.env[build.envVar];
  if (!dir) {
    const r = await execa('bash', [path.join(here, build.script)], { stderr: 'inherit', reject: false });
    if (r.exitCode !== 0) throw new Error(`tools/testenv/${build.script} failed (exit ${r.exitCode}); run 'npm run ${build.npmScript}' to see why`);
    dir = String(r.stdout).trim().split('\n').pop() ?? '';
  }
  for (const tool of build.tools) {
    await access(path.join(dir, tool)).catch((cause: unknown) => {
      throw new Error(`testenv binary ${tool} is missing from ${dir}; run 'npm run ${build.npmScript}'`, { cause });
    });
  }
  return dir;
}
