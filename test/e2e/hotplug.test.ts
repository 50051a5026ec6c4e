/**
 * A disk hot-plugged into a running VM through QMP is announced to the guest by a kernel `add`
 * uevent, and its unplug by a `remove` uevent, as Loam's own UdevMonitor sees them: the monitor runs
 * inside the guest (`guest/udev-listen.ts`, with the host's node, tsx and native addon through the
 * shared root) on the `kernel` source, because no udevd runs there.
 */
import assert from 'node:assert/strict';
import { waitFor } from '../../tools/testenv/wait.js';
import { shellQuote } from './harness/agent.js';
import { compiledArgv, ensureCompiled } from './harness/guest-process.js';
import { repoRoot } from './harness/initramfs.js';
import { Vm } from './harness/vm.js';

const MiB = 1024 ** 2;
const eventLog = '/run/udev-events.jsonl';

interface SeenEvent {
  ready?: boolean;
  source?: string;
  action?: string;
  sysname?: string;
  devnode?: string | null;
  devtype?: string | null;
  sizeBytes?: number | null;
}

async function seenEvents(vm: Vm): Promise<SeenEvent[]> {
  const text = (await vm.readFile(eventLog)).toString('utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as SeenEvent);
}

describe('e2e: disk hot-plug into a running VM', function () {
  let vm: Vm;

  before(async function () {
    vm = await Vm.start({ name: 'hotplug', disks: [{ id: 'boot0', sizeBytes: 64 * MiB }] });
    await ensureCompiled();
    await vm.startBackground(`cd ${repoRoot} && exec ${compiledArgv('test/e2e/guest/udev-listen.ts').map(shellQuote).join(' ')} 2>/run/udev-listen.err`, eventLog);
    await waitFor('UdevMonitor in the guest to start', async () => (await seenEvents(vm)).length > 0, 150_000, 250).catch(async (err: unknown) => {
      throw new Error(`the guest's UdevMonitor did not start: ${(await vm.readFile('/run/udev-listen.err')).toString()}`, { cause: err });
    });
    assert.deepEqual((await seenEvents(vm))[0], { ready: true, source: 'kernel' });
  });

  after(async function () {
    await vm?.stop();
  });

  it('sees a kernel add uevent for a disk attached through QMP, and remove when it is detached', async function () {
    assert.equal(await vm.deviceWithSerial('hot0'), undefined, 'no disk hot0 before the plug');

    const plugged = Date.now();
    await vm.plugDisk({ id: 'hot0', sizeBytes: 128 * MiB });
    let added: SeenEvent | undefined;
    await waitFor('UdevMonitor in the guest to report add for a disk', async () => {
      added = (await seenEvents(vm)).find((e) => e.action === 'add' && e.devtype === 'disk');
      return added !== undefined;
    }, 60_000, 250);
    const addMs = Date.now() - plugged;
    const dev = await vm.deviceWithSerial('hot0');
    assert.equal(added!.sysname, dev, 'the add event names the new disk, the one with serial hot0');
    assert.equal(added!.devnode, `/dev/${dev}`);
    assert.equal(added!.sizeBytes, 128 * MiB, 'the event carries the size read from sysfs');

    const unplugged = Date.now();
    await vm.unplugDisk('hot0');
    await waitFor(`UdevMonitor in the guest to report remove for ${dev}`, async () => {
      return (await seenEvents(vm)).some((e) => e.action === 'remove' && e.sysname === dev && e.devtype === 'disk');
    }, 60_000, 250);
    const removeMs = Date.now() - unplugged;
    assert.equal(await vm.deviceWithSerial('hot0'), undefined, 'the disk is gone from the guest');
    assert.equal((await vm.run(['test', '-e', `/dev/${dev}`])).exitCode, 1, `/dev/${dev} is gone`);
    console.log(`      add seen ${addMs} ms after device_add, remove ${removeMs} ms after device_del`);
  });
});
