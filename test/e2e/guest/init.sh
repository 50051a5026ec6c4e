#!/bin/busybox sh
# First stage of a Loam e2e guest (the initramfs's /init): load the virtio, 9p and overlay modules,
# mount the host's root read-only over 9p, put a tmpfs-backed overlay on top so the guest can write,
# and hand over to the second stage named on the kernel command line (loam_stage=...).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

fail() {
  echo "loam-init: $*"
  # panic=-1 and -no-reboot on the QEMU side turn this into a QEMU exit instead of a hang.
  echo o >/proc/sysrq-trigger
  sleep 10
}

while read -r mod; do
  insmod "/modules/$mod" || fail "insmod $mod failed"
done </modules/order

mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /ro || fail "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "cannot mount the tmpfs for the overlay"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || fail "cannot mount the overlay root"

[ -n "$loam_stage" ] || fail "no loam_stage= on the kernel command line"
[ -x "/newroot$loam_stage" ] || [ -f "/newroot$loam_stage" ] || fail "second stage $loam_stage not found in the shared root"

mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
echo "loam-init: switching to $loam_stage"
exec switch_root /newroot /bin/sh "$loam_stage"
