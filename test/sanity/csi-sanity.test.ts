/**
 * The csi-test sanity suite against lvm.loam.io on real LVM: one VM with a 12 GiB pool disk,
 * loam-controller and loam-node in the guest serving their sockets, and the csi-sanity runner built
 * by tools/testenv run in the guest against both. What a driver author would check: no spec fails,
 * the only skipped ones are those of capabilities Loam does not advertise (listed in README.md),
 * and nothing is left behind in the pool afterwards.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noteFigure } from '../e2e/harness/figures.js';
import { CsiCluster, guestControllerSocket, guestNodeSocket } from './csi-cluster.js';
import { expectedSkips, specResults } from './sanity-report.js';

const MiB = 1024 ** 2;
const GiB = 1024 * MiB;
const here = path.dirname(fileURLToPath(import.meta.url));
const work = '/run/csi-sanity';
const kubeletWork = '/var/lib/kubelet/csi-sanity';

describe('csi-sanity: lvm.loam.io in a VM on real LVM', function () {
  this.timeout(1_800_000);
  let cluster: CsiCluster;

  before(async function () {
    // Two vCPUs: loam-controller, loam-node and csi-sanity all run in this guest, on an emulated CPU.
    cluster = await CsiCluster.start({ nodeName: 'vm-sanity', poolDiskBytes: 12 * GiB, controller: 'guest', cpus: 2 });
    await cluster.claimPoolDisk().catch(async (err: unknown) => {
      console.log(await cluster.logs());
      throw err;
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(await cluster.logs());
  });

  after(async function () {
    await cluster?.stop();
  });

  it('passes every spec; skips only the specs README.md lists; leaves no LV behind', async function () {
    await cluster.vm.writeFile(`${work}/parameters.yaml`, `poolClass: ${cluster.mediaClass}\n`);
    // csi-sanity makes its staging and mount folders with a plain mkdir: their parent must exist.
    await cluster.vm.runOk(`mkdir -p ${kubeletWork}`);
    const started = Date.now();
    const run = await cluster.vm.run([
      path.join(cluster.binDir, 'csi-sanity'),
      `-csi.endpoint=${guestNodeSocket}`,
      `-csi.controllerendpoint=${guestControllerSocket}`,
      // Inside the kubelet directory, where loam-node confines staging and target paths (--kubelet-dir).
      `-csi.stagingdir=${kubeletWork}/staging`,
      `-csi.mountdir=${kubeletWork}/mount`,
      `-csi.testvolumeparameters=${work}/parameters.yaml`,
      `-csi.testvolumesize=${64 * MiB}`,
      `-csi.testvolumeexpandsize=${128 * MiB}`,
      `-ginkgo.json-report=${work}/report.json`,
      '-ginkgo.no-color',
      '-test.timeout=0',
    ], { timeoutMs: 1_500_000 });
    const seconds = (Date.now() - started) / 1000;
    const results = specResults((await cluster.vm.readFile(`${work}/report.json`)).toString());
    const count = (state: string): number => results.filter((r) => r.state === state).length;
    noteFigure('csi-sanity', `${results.length} specs: ${count('passed')} passed, ${count('skipped')} skipped, ${count('pending')} pending in csi-test, ${results.length - count('passed') - count('skipped') - count('pending')} failed, in ${seconds.toFixed(0)} s`);

    // `pending` specs are disabled in csi-test itself (PIt), whatever the driver.
    const notPassed = results.filter((r) => !['passed', 'skipped', 'pending'].includes(r.state));
    assert.deepEqual(notPassed.map((r) => `${r.name} [${r.state}]: ${r.message.slice(0, 600)}`), [], `csi-sanity output tail:\n${run.stdout.slice(-4000)}`);
    assert.equal(run.exitCode, 0, `csi-sanity exit code\n${run.stdout.slice(-2000)}`);
    assert.ok(count('passed') > 40, `csi-sanity ran its specs (${count('passed')} passed)`);

    const skipped = results.filter((r) => r.state === 'skipped').map((r) => r.name).sort();
    assert.deepEqual(skipped, (await expectedSkips(path.join(here, 'README.md'))).sort(), 'skipped specs = the README list');

    const leftover = (await cluster.guestLvs()).filter((lv) => lv.tags.includes('loam.io'));
    assert.deepEqual(leftover, [], 'no Loam LV left in the pool after the suite cleaned up');
  });
});
