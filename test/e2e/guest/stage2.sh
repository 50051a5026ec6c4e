#!/bin/busybox sh
# Second stage of a Loam e2e guest, run as PID 1 on the overlay of the host's root. Reads its settings
# from the kernel command line (unknown key=value arguments reach init as environment variables):
#   loam_name       VM name, used as hostname
#   loam_modroot    folder given to `modprobe -d` (the unpacked kernel package in the host's cache)
#   loam_user_mac   MAC of the user-mode NIC (to the host API server through 10.0.2.100), optional
#   loam_link_mac   MAC of the private-link NIC, optional, with loam_link_ip (address/prefix)
#   loam_agent      path of the guest agent script
# then starts the agent on the virtio-serial port and never returns.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# No udevd runs here: LVM must not wait for udev to create its device nodes.
export DM_DISABLE_UDEV=1 LC_ALL=C HOME=/root
bb=/bin/busybox

say() { echo "loam-stage2: $*"; }
fail() {
  say "FAILED: $*"
  echo o >/proc/sysrq-trigger
  $bb sleep 10
}

# A fresh /run and /tmp: the host's own files there (pid files, sockets, temp folders) are not the guest's.
# The project itself may live there (a CI checkout under /tmp): keep it visible at the same path.
project=$($bb dirname "$($bb dirname "$($bb dirname "$($bb dirname "$0")")")")
keep=
case "$project" in
  /tmp | /tmp/* | /run | /run/*)
    keep=/.loam-project
    mkdir -p "$keep" && mount --bind "$project" "$keep" || fail "cannot keep $project visible"
    ;;
esac
mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount /run"
mount -t tmpfs tmpfs /tmp || fail "cannot mount /tmp"
if [ -n "$keep" ]; then
  mkdir -p "$project" && mount --bind "$keep" "$project" || fail "cannot mount $project back"
fi
# /var/lock is /run/lock: LVM and drbdmeta take their locks there.
mkdir -p /run/lock /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
$bb hostname "$loam_name"

modprobe -d "$loam_modroot" -a virtio_console virtio_rng virtio_blk virtio_net dm-mod dm-thin-pool drbd ext4 xfs \
  || fail "modprobe failed"

# Find a network interface by its MAC (no udev renames here, but the probe order is not ours to rely on).
iface_with_mac() {
  for dev in /sys/class/net/*; do
    [ "$(cat "$dev/address")" = "$1" ] && { $bb basename "$dev"; return 0; }
  done
  return 1
}
ip link set lo up
if [ -n "$loam_user_mac" ]; then
  dev=$(iface_with_mac "$loam_user_mac") || fail "no interface with MAC $loam_user_mac"
  ip addr add 10.0.2.15/24 dev "$dev" && ip link set "$dev" up || fail "cannot configure $dev"
fi
if [ -n "$loam_link_mac" ]; then
  dev=$(iface_with_mac "$loam_link_mac") || fail "no interface with MAC $loam_link_mac"
  ip addr add "$loam_link_ip" dev "$dev" && ip link set "$dev" up || fail "cannot configure $dev"
fi

say "ready after $(cut -d' ' -f1 /proc/uptime) s of guest uptime"
exec $bb sh "$loam_agent"
