#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, csi-provisioner,
# csi-resizer, csi-sanity, helm) from the Go module proxy into a cache outside the repo, keyed by
# everything that decides the result: the pinned go.mod/go.sum files, this script and the Go version.
# A second run with the same key returns at once. The last line printed is the bin folder.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${LOAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/loam}/testenv

key=$( { go version; cat "$here/build.sh"; for d in "$here"/modules/*/; do
  basename "$d"; cat "$d/go.mod" "$d/go.sum"; cat "$d"/*.go 2>/dev/null || true; done; } | sha256sum | cut -c1-16)
out="$cache_root/$key"
bin="$out/bin"

if [ -f "$out/complete" ]; then
  echo "$bin"
  exit 0
fi

work="$out.partial.$$"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
ldflags="-s -w"
start=$(date +%s)

build_tools() {  # module folder, then package paths
  local mod=$1; shift
  echo "testenv: building $* ($(basename "$mod"))" >&2
  (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$work/bin/" "$@")
}

echo "testenv: building etcd" >&2
(cd "$here/modules/etcd" && go build -trimpath -ldflags "$ldflags" -o "$work/bin/etcd" go.etcd.io/etcd/server/v3)
build_tools "$here/modules/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
build_tools "$here/modules/csi-provisioner" github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
build_tools "$here/modules/csi-resizer" github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer
build_tools "$here/modules/helm" helm.sh/helm/v3/cmd/helm
echo "testenv: building csi-sanity" >&2
(cd "$here/modules/csi-sanity" && go test -c -trimpath -ldflags "$ldflags" -o "$work/bin/csi-sanity" .)

for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl csi-provisioner csi-resizer helm csi-sanity; do
  [ -x "$work/bin/$tool" ] || { echo "testenv: $tool was not built" >&2; exit 1; }
done
echo "testenv: built in $(( $(date +%s) - start )) s" >&2
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
