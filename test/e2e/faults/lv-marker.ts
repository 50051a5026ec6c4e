/**
 * A volume's data, as the fault suites check it: 4 KiB of random bytes written straight to the
 * start of the LV's device in the guest (O_DIRECT, fsync), and its checksum kept on the host. An LV
 * that Loam made again empty would not have them: lvcreate zeroes the start of a new LV, and LVM
 * gives it a new UUID, which is checked too.
 *
 * The device path comes from the spec (`/dev/<VG>/<LV>`), never from a status field.
 */
import { shellQuote } from '../harness/agent.js';
import type { Vm } from '../harness/vm.js';

const markerBytes = 4096;

/** Writes a fresh random marker at the start of `device` in the guest; returns its sha256. */
export async function writeMarker(vm: Vm, device: string): Promise<string> {
  const dev = shellQuote(device);
  const out = await vm.runOk(`set -o pipefail
m=$(mktemp)
head -c ${markerBytes} /dev/urandom > "$m"
dd if="$m" of=${dev} bs=${markerBytes} count=1 oflag=direct conv=notrunc,fsync status=none
sha256sum < "$m" | cut -d' ' -f1
rm -f "$m"`);
  return out.trim();
}

/** The sha256 of the first 4 KiB of each of `devices` in the guest (one command), read past the page cache; "" where it cannot be read. */
export async function readMarkers(vm: Vm, devices: readonly string[]): Promise<string[]> {
  if (devices.length === 0) return [];
  const reads = devices.map((d) => `s=$(dd if=${shellQuote(d)} bs=${markerBytes} count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1) || s=; echo "$s"`);
  const out = await vm.runOk(`set -o pipefail\n${reads.join('\n')}`);
  const sums = out.replace(/\n$/, '').split('\n').map((l) => l.trim());
  if (sums.length !== devices.length) throw new Error(`read ${sums.length} markers for ${devices.length} devices: ${out}`);
  return sums;
}
