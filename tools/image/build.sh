#!/usr/bin/env bash
# `npm run image`: builds the Loam container image offline, from Debian packages and the npm lock
# file only, into an OCI archive (a tar of an OCI image layout) that `ctr image import`, `docker load`
# and `skopeo copy oci-archive:...` accept. The same image as the Dockerfile, made without a registry
# or a container engine (see docs/image.md):
#   layer 1: Debian 13 "trixie" with the packages of tools/image/packages (tools/image/rootfs.sh);
#   layer 2: /app (package.json, dist/, production node_modules, the loam_udev addon) and the four
#            bins in /usr/local/bin.
# Reproducible: the same inputs and SOURCE_DATE_EPOCH give the same bytes (sorted tar entries, fixed
# mtimes and owners, gzip without a time stamp). Cached by content outside the repo, like testenv:
# the base layer under <cache>/base/<key of the package list and rootfs.sh>, the image under
# <cache>/<key of everything that decides it>. A second run with nothing changed returns at once.
# The last line printed is the path of the archive. Runs as root (mmdebstrap and chroot).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=tools/image/tar.sh
. "$here/tar.sh"
cache_root=${LOAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/loam}/image
# A fixed default, not "now": the image's time stamps are part of its bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
version=$(node -p "require('$repo/package.json').version")
name=${LOAM_IMAGE_NAME:-loam.io/loam}:$version
bins=(loam-node loam-controller loam-scheduler loam)

# The sources that go into dist/ and the addon, as the working tree holds them (like a build context).
# tools/testenv's TypeScript is among them because `loam demo` (src/demo) imports the test control plane.
mapfile -t sources < <(cd "$repo" && git ls-files -co --exclude-standard -- src 'tools/testenv/*.ts' \
  native/binding.gyp native/build.mjs native/src | LC_ALL=C sort)

# A snapshot of the inputs first, then the key from the snapshot: what is hashed is what is built,
# even when the working tree changes during the build.
mkdir -p "$cache_root"
tree=$(mktemp -d "$cache_root/tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
(cd "$repo" && cp --parents package.json package-lock.json tsconfig.json "${sources[@]}" "$tree/")
base_key=$( { echo "$SOURCE_DATE_EPOCH"; cat "$here/packages" "$here/rootfs.sh" "$here/tar.sh"; } | sha256sum | cut -c1-16)
key=$( { echo "$base_key $name"; node --version; cat "$here/build.sh" "$here/prune-app.sh" "$here/oci.ts" "$here/tsconfig.build.json";
  (cd "$tree" && sha256sum package.json package-lock.json tsconfig.json "${sources[@]}"); } | sha256sum | cut -c1-16)
base="$cache_root/base/$base_key"
out="$cache_root/$key"
archive="$out/loam-image.oci.tar"

if [ -f "$out/complete" ]; then
  echo "$archive"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "image: run as root (mmdebstrap and chroot need it): sudo npm run image" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "image: mmdebstrap not found: apt-get install mmdebstrap (listed in .ci/apt-packages)" >&2; exit 1; }
start=$(date +%s)

work="$out.partial.$$"
trap 'rm -rf "$tree" "$work" "$base.partial.$$"' EXIT
mkdir -p "$work"

if [ ! -f "$base/complete" ]; then
  rm -rf "$base.partial.$$"
  bash "$here/rootfs.sh" "$base.partial.$$"
  rm -rf "$base" && mv "$base.partial.$$" "$base" && touch "$base/complete"
fi

# dist/: compiled from the snapshot, with the repo's own dev dependencies (typescript, @types/node)
# through a link.
mkdir -p "$tree/tools/image"
cp "$here/tsconfig.build.json" "$tree/tools/image/"
ln -s "$repo/node_modules" "$tree/node_modules"
echo "image: compiling dist/" >&2
(cd "$tree" && nice -n 19 node node_modules/typescript/bin/tsc -p tools/image/tsconfig.build.json)
cp "$tree/src/csi/csi.proto" "$tree/src/csi/pluginregistration.proto" "$tree/dist/src/csi/"

# /app: production dependencies only (npm ci --omit=dev from the lock file). The install script
# (native/build.mjs) then builds loam_udev alone against this machine's Node headers: it is an N-API
# addon (NAPI_VERSION=8), so it loads in any Node >= 12.22, trixie's 20.19 included, and glibc and
# libudev are older here (Debian 12) than in the image. loam_loop_control, a test tool, is not built.
root="$work/root"
app="$root/app"
mkdir -p "$app/native" "$root/usr/local/bin"
cp "$tree/package.json" "$tree/package-lock.json" "$app/"
(cd "$tree/native" && cp -r binding.gyp build.mjs src "$app/native/")
echo "image: npm ci --omit=dev" >&2
(cd "$app" && nice -n 19 npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >&2)
bash "$here/prune-app.sh" "$app"
cp -r "$tree/dist" "$app/dist"
for bin in "${bins[@]}"; do
  chmod 0755 "$app/dist/src/cmd/$bin.js"
  ln -s "/app/dist/src/cmd/$bin.js" "$root/usr/local/bin/$bin"
done
# The same modes whatever the umask of the machine that built it.
chmod -R u=rwX,go=rX "$root"
deterministic_tar_gz "$root" app usr > "$work/app.tar.gz"

cat > "$work/spec.json" <<EOF
{
  "name": "$name",
  "epoch": $SOURCE_DATE_EPOCH,
  "layers": [
    { "file": "$base/layer.tar.gz", "createdBy": "mmdebstrap --variant=essential trixie + tools/image/packages" },
    { "file": "$work/app.tar.gz", "createdBy": "tools/image/build.sh: /app and /usr/local/bin/{$(IFS=,; echo "${bins[*]}")}" }
  ],
  "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
  "cmd": ["loam", "--help"],
  "workingDir": "/app",
  "labels": {
    "org.opencontainers.image.title": "loam",
    "org.opencontainers.image.description": $(node -p "JSON.stringify(require('$repo/package.json').description)"),
    "org.opencontainers.image.version": "$version",
    "org.opencontainers.image.licenses": $(node -p "JSON.stringify(require('$repo/package.json').license)"),
    "org.opencontainers.image.base.name": "debian:trixie"
  }
}
EOF
node "$repo/node_modules/tsx/dist/cli.mjs" "$here/oci.ts" "$work/layout" "$work/spec.json" >/dev/null
deterministic_tar "$work/layout" oci-layout index.json blobs > "$work/loam-image.oci.tar"
cp "$base/packages.lock" "$work/packages.lock"

mkdir -p "$out.partial.$$.done"
mv "$work/loam-image.oci.tar" "$work/packages.lock" "$out.partial.$$.done/"
echo "image: $name built in $(( $(date +%s) - start )) s ($(du -h "$out.partial.$$.done/loam-image.oci.tar" | cut -f1))" >&2
if [ -f "$out/complete" ]; then
  # Another build of the same key finished first; its result is the same.
  rm -rf "$out.partial.$$.done"
  echo "$archive"
  exit 0
fi
rm -rf "$out"
mv "$out.partial.$$.done" "$out"
touch "$out/complete"
# Keep the three newest images (about 85 MB each); base layers stay until their inputs change.
find "$cache_root" -mindepth 2 -maxdepth 2 -name complete -path "$cache_root/????????????????/complete" -printf '%T@ %h\n' |
  sort -rn | tail -n +4 | while read -r _ old; do rm -rf "$old"; done
echo "$archive"
