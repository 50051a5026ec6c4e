#!/usr/bin/env bash
# The README's install command: Debian packages (.ci/apt-packages), npm dependencies (which builds the
# native addon against the Node headers on this machine) and the test control plane, cached in
# ~/.cache/loam by version. Run as root (or with sudo) on Debian 12; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
mapfile -t packages < <(grep -v '^\s*#' .ci/apt-packages | grep -v '^\s*$' | sort -u)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages: ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "install: npm ci" >&2
npm ci --no-audit --no-fund >&2
npm run -s testenv:build-node >&2  # kubelet, kube-proxy, containerd, runc and pause for the VM cluster's nodes
echo "install: test control plane" >&2
npm run -s testenv:build | tail -n 1
