/**
 * The fault loop of test/e2e/faults (fault-loop.ts) for as many cycles as asked, outside mocha:
 * loam-controller on the host, loam-node in a VM with real LVM, a kill -9 of one of them in every
 * cycle of volume creates, expansions and deletes. Prints one line per cycle, then the figures:
 * cycles, kills of each kind, volumes created/expanded/deleted, time per cycle, convergence after
 * the kill (p50, max), leaked LVs, lost volumes. Target: 0 leaked LVs and 0 lost volumes (the run
 * stops at the first cycle that finds one and exits 1).
 *
 *   npm run faults -- [--cycles 200] [--seed S]
 *
 * The seed is printed first; the same seed replays the same choices (not the same VM timing).
 */
import { parseArgs } from 'node:util';
import { setLogLevel } from '../../src/common/logger.js';
import { ensureCompiled } from '../../test/e2e/harness/guest-process.js';
import { ensureInitramfs } from '../../test/e2e/harness/initramfs.js';
import { ensureKernel } from '../../test/e2e/harness/kernel.js';
import { LocalStorageCluster } from '../../test/e2e/harness/local-storage.js';
import { endRun } from '../../test/e2e/harness/run.js';
import { describeFigures, FaultLoop, faultLoopNodeEnv } from '../../test/e2e/faults/fault-loop.js';
import { SeededRandom, seedOf } from '../../test/e2e/faults/seeded-random.js';

const MiB = 1024 ** 2;

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '200' }, seed: { type: 'string', default: process.env.LOAM_FAULT_SEED } } });
const cycles = Number(values.cycles);
if (!Number.isInteger(cycles) || cycles < 1) throw new Error(`--cycles must be a positive integer, got "${values.cycles}"`);
const seed = seedOf(values.seed);

async function main(): Promise<number> {
  if (!process.env.LOAM_LOG_LEVEL) setLogLevel('warn');
  console.log(`fault loop: ${cycles} cycles, seed ${seed} (replay: npm run faults -- --cycles ${cycles} --seed ${seed})`);
  await ensureInitramfs(await ensureKernel());
  await ensureCompiled();
  const started = Date.now();
  const ls = await LocalStorageCluster.start({ nodeName: 'bench-faults', poolDiskBytes: 1024 * MiB, loamNodeEnv: faultLoopNodeEnv });
  const loop = new FaultLoop(ls, { cycles, rng: new SeededRandom(seed), progress: (line) => console.log(line) });
  try {
    await ls.claimPoolDisk();
    await loop.run();
    if (loop.figures.leakedLvs.length === 0 && loop.figures.lostVolumes.length === 0) await loop.cleanUp();
  } catch (err) {
    console.error(err);
    console.error(await ls.logs());
    return 1;
  } finally {
    console.log(`\nfault loop figures (whole run ${((Date.now() - started) / 1000).toFixed(0)} s, setup included):`);
    for (const line of describeFigures(loop.figures)) console.log(`  ${line}`);
    console.log('  target: 0 leaked LVs, 0 lost volumes, every volume Ready or gone after each cycle');
    await ls.stop();
  }
  return loop.figures.leakedLvs.length + loop.figures.lostVolumes.length === 0 && loop.figures.cyclesRun === cycles ? 0 : 1;
}

main().then(
  async (code) => {
    await endRun();
    process.exit(code);
  },
  async (err: unknown) => {
    console.error(err);
    await endRun();
    process.exit(1);
  },
);
