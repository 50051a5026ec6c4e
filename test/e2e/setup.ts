/**
 * Mocha global fixture and root hooks of the e2e (VM) tier:
 * - before the run: the pinned kernel and the initramfs are made ready (cached after the first run),
 *   Loam is compiled to dist/ (guests run the compiled code), and SIGINT/SIGTERM stop every VM
 *   before the process ends;
 * - after a failed test: the serial console of each VM still running is printed;
 * - after the run: every VM is stopped, the run folder (disks, sockets, logs) is removed, and the
 *   teardown fails if any QEMU of this run is still alive. The figures (boot time per VM, CPU load,
 *   the tier's time) are printed.
 */
import type { Context } from 'mocha';
import { setLogLevel } from '../../src/common/logger.js';
import { ensureCompiled } from './harness/guest-process.js';
import { ensureInitramfs } from './harness/initramfs.js';
import { ensureKernel } from './harness/kernel.js';
import { figureLines, noteFigure } from './harness/figures.js';
import { stopSharedKubeCluster } from './harness/kube-cluster.js';
import { endRun, runningMembers, sweepStaleRuns } from './harness/run.js';

let tierStarted = 0;

export async function mochaGlobalSetup(): Promise<void> {
  tierStarted = Date.now();
  // The figures at the end carry what the info lines would say; LOAM_LOG_LEVEL=info shows them live.
  if (!process.env.LOAM_LOG_LEVEL) setLogLevel('warn');
  for (const folder of await sweepStaleRuns()) console.log(`  e2e: removed ${folder}, left by a run that was killed`);
  const kernel = await ensureKernel();
  await ensureInitramfs(kernel);
  console.log(`  e2e: kernel ${kernel.release} and initramfs ready in ${((Date.now() - tierStarted) / 1000).toFixed(1)} s`);
  const buildStarted = Date.now();
  await ensureCompiled();
  console.log(`  e2e: Loam compiled to dist/ for the guests in ${((Date.now() - buildStarted) / 1000).toFixed(1)} s`);
  // `on`, not `once`: mocha's wrapper forwards SIGINT and adds SIGTERM, and a second signal without
  // a handler would end the process before the VMs are stopped.
  let ending = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (ending) return;
      ending = true;
      console.error(`\n  e2e: ${signal}: stopping every VM`);
      void endRun().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

export const mochaHooks = {
  async afterEach(this: Context): Promise<void> {
    if (this.currentTest?.state !== 'failed') return;
    for (const vm of runningMembers()) {
      console.log(`\n--- serial console of VM ${vm.name} (last 80 lines of ${vm.consoleLogPath})\n${await vm.consoleTail(80)}\n--- end of console of ${vm.name}`);
    }
  },
};

export async function mochaGlobalTeardown(): Promise<void> {
  // The VM cluster that spec files share: its control plane is not a VM of the run.
  await stopSharedKubeCluster();
  const left = await endRun();
  noteFigure('whole e2e tier', `${((Date.now() - tierStarted) / 1000).toFixed(1)} s`);
  console.log(`\n  e2e figures:\n${figureLines().map((l) => `    ${l}`).join('\n')}`);
  if (left.length > 0) throw new Error(`the e2e run left QEMU processes behind: ${JSON.stringify(left)}`);
  console.log('  e2e: every VM stopped, no QEMU process and no disk image left behind');
}
