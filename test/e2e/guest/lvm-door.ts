/**
 * Runs inside a guest (compiled: `node dist/test/e2e/guest/lvm-door.js <vg>`): drives Loam's LVM door
 * (src/localstorage/lvm.ts) on real device-mapper and prints what it saw as one JSON object, for
 * test/e2e/storage.test.ts to check. An LV not made by Loam is created with the lvm tool itself.
 */
import { execa } from 'execa';
import { Lvm } from '../../../src/localstorage/lvm.js';

const MiB = 1024 ** 2;
const vgName = process.argv[2]!;
// The door sees only the PVs of the pool (as loam-node's PoolDevices would give it), read with the lvm tool.
const pvsOfVg = (await execa('lvm', ['pvs', '--noheadings', '-o', 'pv_name', '--select', `vg_name=${vgName}`], { env: { LC_ALL: 'C' } })).stdout;
const poolDevices = pvsOfVg.split('\n').map((l) => l.trim()).filter((l) => l !== '');
const lvm = new Lvm({ devices: async () => poolDevices });
const outcome = async (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (err: Error) => err.message);

const created = await lvm.lvcreate({ vgName, lvName: 'pvc-door', sizeBytes: 10 * MiB });
const again = await outcome(lvm.lvcreate({ vgName, lvName: 'pvc-door', sizeBytes: 10 * MiB }));
const grown = await lvm.lvextend({ vgName, lvName: 'pvc-door', sizeBytes: 20 * MiB });
const notShrunk = await lvm.lvextend({ vgName, lvName: 'pvc-door', sizeBytes: 4 * MiB });
await execa('lvm', ['lvcreate', '--yes', '--name', 'theirs', '--size', '8m', vgName], { env: { LC_ALL: 'C' } });
const removeTheirs = await outcome(lvm.lvremove(vgName, 'theirs'));
const extendTheirs = await outcome(lvm.lvextend({ vgName, lvName: 'theirs', sizeBytes: 16 * MiB }));
const theirsAfter = await lvm.findLv(vgName, 'theirs');
const removed = await lvm.lvremove(vgName, 'pvc-door');
const removedAgain = await lvm.lvremove(vgName, 'pvc-door');
const gone = (await lvm.findLv(vgName, 'pvc-door')) === undefined;
const noRoom = await outcome(lvm.lvcreate({ vgName, lvName: 'pvc-huge', sizeBytes: 1024 ** 4 }));

// The hot path: sizes computed from the extent size instead of a second lvs, and a report the
// caller just read instead of the door's own look. What it computes must be what lvs says.
const extentBytes = (await lvm.vgs()).find((vg) => vg.name === vgName)!.extentBytes;
const fastCreated = await lvm.lvcreate({ vgName, lvName: 'pvc-fast', sizeBytes: 10 * MiB, extentBytes });
const fastListed = await lvm.findLv(vgName, 'pvc-fast');
const fastGrown = await lvm.lvextend({ vgName, lvName: 'pvc-fast', sizeBytes: 30 * MiB, extentBytes }, { current: fastCreated });
const fastGrownListed = await lvm.findLv(vgName, 'pvc-fast');
const removeTheirsKnown = await outcome(lvm.lvremove(vgName, 'theirs', { current: theirsAfter }));
const fastRemoved = await lvm.lvremove(vgName, 'pvc-fast', { current: fastGrown });
const fastRemovedStale = await lvm.lvremove(vgName, 'pvc-fast', { current: fastGrown });
const theirsAtEnd = await lvm.findLv(vgName, 'theirs');
await execa('lvm', ['lvremove', '--yes', `${vgName}/theirs`], { env: { LC_ALL: 'C' } });
process.stdout.write(JSON.stringify({
  created, again, grown, notShrunk, removeTheirs, extendTheirs, theirsAfter, removed, removedAgain, gone, noRoom,
  extentBytes, fastCreated, fastListed, fastGrown, fastGrownListed, removeTheirsKnown, fastRemoved, fastRemovedStale, theirsAtEnd,
}) + '\n');
