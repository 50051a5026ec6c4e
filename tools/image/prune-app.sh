#!/usr/bin/env bash
# Trims an /app folder after `npm ci --omit=dev` to what Loam runs, for both image builds (the
# Dockerfile and tools/image/build.sh): of native/ only the stripped loam_udev addon; of
# node_modules nothing Node never loads (type declarations, source maps, TypeScript sources,
# prebuilt binaries for other platforms). About 40 MB of the 100 MB that npm installs.
# Usage: prune-app.sh <app dir>
set -euo pipefail
app=$1
addon="$app/native/build/Release/loam_udev.node"
[ -f "$addon" ] || { echo "image: npm ci did not build $addon" >&2; exit 1; }
keep=$(mktemp -d)
mv "$addon" "$keep/"
rm -rf "$app/native"
mkdir -p "$app/native/build/Release"
mv "$keep/loam_udev.node" "$app/native/build/Release/"
rmdir "$keep"
strip --strip-unneeded "$app/native/build/Release/loam_udev.node"
find "$app/node_modules" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o -name '*.ts' -o -name '*.mts' -o -name '*.cts' \) -delete
find "$app/node_modules" -type d -name prebuilds -prune -print0 |
  while IFS= read -r -d '' dir; do find "$dir" -mindepth 1 -maxdepth 1 ! -name linux-x64 -exec rm -rf {} +; done
