/**
 * The QEMU command line of a test VM, and the kernel command line inside it. Pure: files and ports
 * are made by the caller.
 */
import path from 'node:path';
import { guestDir } from './initramfs.js';
import type { Kernel } from './kernel.js';
import { linkArgs, userNetArgs, type HostForward, type LinkEnd } from './network.js';

export interface DiskFile {
  /** Device id in QEMU and serial number in the guest. */
  id: string;
  /** The image file. */
  file: string;
  /** Its format (default raw); qcow2 for a copy-on-write overlay of a cached image. */
  format?: 'raw' | 'qcow2';
}

export interface QemuArgsInput {
  name: string;
  /** The VM's folder: console log and sockets go there. */
  dir: string;
  kernel: Kernel;
  initramfs: string;
  disks: DiskFile[];
  /** A number unique in this run, for MAC addresses. */
  index: number;
  memoryMiB?: number;
  cpus?: number;
  apiServerPort?: number;
  /** Host loopback ports forwarded into the guest over the user-mode NIC (needs apiServerPort). */
  hostForwards?: HostForward[];
  link?: LinkEnd;
  kernelArgs?: string[];
}

/** Arguments for qemu-system-x86_64. */
export function qemuArgs(vm: QemuArgsInput): string[] {
  const mac = (nic: number): string => `52:54:00:4c:${vm.index.toString(16).padStart(2, '0')}:0${nic}`;
  const files = [vm.dir, vm.kernel.vmlinuz, vm.initramfs, vm.kernel.moduleRoot, guestDir, ...vm.disks.map((d) => d.file)];
  // QEMU splits option values on commas and the kernel splits its command line on spaces.
  const bad = files.find((f) => /[,\s]/.test(f));
  if (bad) throw new Error(`a path given to QEMU must have no comma or space: ${bad}`);

  const cmdline = [
    // quiet: kernel warnings and errors still reach the console log, the boot chatter does not.
    'console=ttyS0', 'quiet', 'panic=-1', 'mitigations=off',
    `loam_name=${vm.name}`,
    `loam_stage=${path.join(guestDir, 'stage2.sh')}`,
    `loam_agent=${path.join(guestDir, 'agent.sh')}`,
    `loam_modroot=${vm.kernel.moduleRoot}`,
  ];
  const args = [
    '-name', vm.name, '-nodefaults', '-no-user-config', '-no-reboot', '-display', 'none',
    '-accel', 'tcg', '-m', String(vm.memoryMiB ?? 1024), '-smp', String(vm.cpus ?? 1),
    '-kernel', vm.kernel.vmlinuz, '-initrd', vm.initramfs,
    '-serial', `file:${path.join(vm.dir, 'console.log')}`,
    '-qmp', `unix:${path.join(vm.dir, 'qmp.sock')},server=on,wait=off`,
    // The host's root, read-only; the guest puts a tmpfs overlay on top (guest/init.sh).
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
    '-device', 'virtio-serial-pci,id=serial0',
    '-chardev', `socket,id=agent,path=${path.join(vm.dir, 'agent.sock')},server=on,wait=off`,
    '-device', 'virtserialport,bus=serial0.0,chardev=agent,name=loam.agent',
    // Entropy from the host, so TLS clients in the guest (kubectl) need not wait for the kernel's pool.
    '-device', 'virtio-rng-pci',
  ];
  for (const disk of vm.disks) {
    args.push('-drive', `file=${disk.file},if=none,id=drive-${disk.id},format=${disk.format ?? 'raw'},cache=unsafe`);
    args.push('-device', `virtio-blk-pci,drive=drive-${disk.id},id=${disk.id},serial=${disk.id}`);
  }
  if (vm.apiServerPort !== undefined) {
    args.push(...userNetArgs(vm.apiServerPort, mac(0), vm.hostForwards));
    cmdline.push(`loam_user_mac=${mac(0)}`);
  }
  if (vm.link) {
    args.push(...linkArgs(vm.link, mac(1)));
    cmdline.push(`loam_link_mac=${mac(1)}`, `loam_link_ip=${vm.link.address}`);
  }
  cmdline.push(...(vm.kernelArgs ?? []));
  return [...args, '-append', cmdline.join(' ')];
}
