/**
 * Runs inside a guest (compiled: `node dist/test/e2e/guest/udev-listen.js`, from the shared root):
 * Loam's UdevMonitor on the kernel source, printing one JSON line per block device event, after a
 * first line `{"ready":true}` once the netlink socket is open. Stops on SIGTERM.
 */
import { UdevMonitor, type BlockDeviceEvent } from '../../../src/ldm/udev.js';

const monitor = new UdevMonitor({ source: 'kernel', subsystem: 'block' });
const print = (e: BlockDeviceEvent): void => {
  const line = { action: e.action, sysname: e.sysname, devnode: e.devnode, devtype: e.devtype, sizeBytes: e.sizeBytes, seqnum: e.seqnum };
  process.stdout.write(JSON.stringify(line) + '\n');
};
for (const action of ['add', 'change', 'remove', 'move'] as const) monitor.on(action, print);
monitor.on('error', (err) => process.stderr.write(`udev-listen: ${err.message}\n`));
monitor.start();
process.stdout.write(JSON.stringify({ ready: true, source: monitor.source }) + '\n');
process.once('SIGTERM', () => {
  monitor.stop();
});
