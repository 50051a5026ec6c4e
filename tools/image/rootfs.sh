#!/usr/bin/env bash
# Makes the base layer of the Loam image: a Debian 13 "trixie" root filesystem holding Debian's
# Essential set and exactly the packages of tools/image/packages (no recommends; documentation,
# man pages and locales left out, copyright files kept), as a reproducible gzip'd tar.
# Usage: rootfs.sh <out dir>   (SOURCE_DATE_EPOCH must be set; LOAM_DEBIAN_MIRROR overrides the mirror)
# Writes <out>/layer.tar.gz and <out>/packages.lock (package=version of everything installed).
# Runs as root: mmdebstrap's root mode unpacks with the real owners and modes of every file.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/image/tar.sh
. "$here/tar.sh"
out=$1
suite=trixie
mirror=${LOAM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
: "${SOURCE_DATE_EPOCH:?rootfs.sh needs SOURCE_DATE_EPOCH}"

packages=$(grep -v '^\s*#' "$here/packages" | awk 'NF { print $1 }' | paste -sd, -)
rootfs="$out/rootfs"
mkdir -p "$out"
echo "image: mmdebstrap $suite with $packages" >&2
# --variant=essential: no apt, no init; the image never installs packages at run time.
nice -n 19 ionice -c3 mmdebstrap --quiet --mode=root --format=directory --variant=essential \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --include="$packages" "$suite" "$rootfs" "$mirror" >&2

chroot "$rootfs" dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort > "$out/packages.lock"
# What a container runtime provides (device nodes, /proc, /sys, /run, /tmp) and what differs from
# build to build (caches and logs) stays out of the layer.
rm -rf "${rootfs:?}"/dev/* "$rootfs"/proc/* "$rootfs"/sys/* "$rootfs"/run/* "$rootfs"/tmp/* \
  "$rootfs"/var/cache/* "$rootfs"/var/log/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/etc/machine-id
deterministic_tar_gz "$rootfs" > "$out/layer.tar.gz"
rm -rf "$rootfs"
