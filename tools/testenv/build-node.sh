#!/usr/bin/env bash
# Builds what the VM tier's kubelet nodes run: kubelet and kube-proxy (from the same pinned kubernetes
# module as the control plane), containerd with its runc shim and ctr, runc, and a static pause for the
# pod sandbox image. Cached outside the repo, keyed by everything that decides the result: the Go
# version, this script, pause.c, the kubernetes module and node-modules/*. A second run with the same
# key returns at once. The last line printed is the bin folder (the guests see ~/.cache, not /tmp).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${LOAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/loam}/testenv-node
k8s=$here/modules/kubernetes

key=$( { go version; gcc --version | head -n 1; cat "$here/build-node.sh" "$here/pause.c" "$k8s/go.mod" "$k8s/go.sum"
  for d in "$here"/node-modules/*/; do basename "$d"; cat "$d/go.mod" "$d/go.sum" "$d"/*.go; done; } | sha256sum | cut -c1-16)
out="$cache_root/$key"
bin="$out/bin"

if [ -f "$out/complete" ]; then
  echo "$bin"
  exit 0
fi

work="$out.partial.$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
export GOFLAGS=-mod=mod
start=$(date +%s)

# The kubelet reports this version to the API server; unstamped it says v0.0.0-master.
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$k8s/go.mod")
[[ $k8s_version =~ ^v([0-9]+)\.([0-9]+)\. ]] || { echo "testenv-node: no k8s.io/kubernetes version in $k8s/go.mod" >&2; exit 1; }
stamp=k8s.io/component-base/version
k8s_ldflags="-s -w -X $stamp.gitVersion=$k8s_version -X $stamp.gitMajor=${BASH_REMATCH[1]} -X $stamp.gitMinor=${BASH_REMATCH[2]} -X $stamp.gitTreeState=clean"
# kube-proxy needs go.sum lines the control plane does not (nftables); they go into a private copy of
# the module files (-modfile), so modules/kubernetes and with it build.sh's cache key stay unchanged.
mkdir -p "$work/kubernetes"
cp "$k8s/go.mod" "$work/kubernetes/go.mod"
cp "$k8s/go.sum" "$work/kubernetes/go.sum"
echo "testenv-node: building kubelet and kube-proxy $k8s_version" >&2
(cd "$k8s" && CGO_ENABLED=0 go build -modfile "$work/kubernetes/go.mod" -trimpath -ldflags "$k8s_ldflags" -o "$work/bin/" \
  k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
rm -rf "$work/kubernetes"

# containerd without the snapshotters the guests lack (btrfs, devmapper, zfs); static, no cgo.
echo "testenv-node: building containerd" >&2
(cd "$here/node-modules/containerd" && CGO_ENABLED=0 go build -trimpath -tags "no_btrfs no_devmapper no_zfs" -ldflags "-s -w" \
  -o "$work/bin/" github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 github.com/containerd/containerd/v2/cmd/ctr)

# runc with seccomp needs cgo and libseccomp; linked statically so the guest needs no matching library.
# The Makefile's default libpathrs tag is left out (it needs a Rust library Debian does not ship).
echo "testenv-node: building runc" >&2
(cd "$here/node-modules/runc" && CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs netgo osusergo" \
  -ldflags "-s -w -extldflags -static" -o "$work/bin/runc" github.com/opencontainers/runc)

echo "testenv-node: building pause" >&2
gcc -static -Os -s -Wall -Wextra -Werror -o "$work/bin/pause" "$here/pause.c"

for tool in kubelet kube-proxy containerd containerd-shim-runc-v2 ctr runc pause; do
  [ -x "$work/bin/$tool" ] || { echo "testenv-node: $tool was not built" >&2; exit 1; }
done
echo "testenv-node: built in $(( $(date +%s) - start )) s" >&2
if [ -f "$out/complete" ]; then
  # Another build of the same key finished first; its result is the same.
  echo "$bin"
  exit 0
fi
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
touch "$out/complete"
echo "$bin"
