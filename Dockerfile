# The Loam image: one image for every binary (loam-node, loam-controller, loam-scheduler, loam), on
# Debian 13 "trixie" with its Node.js 20.19 and the storage tools Loam runs. Where no registry can be
# reached (this project's CI), `npm run image` builds the same image from Debian packages into an OCI
# archive (tools/image/build.sh); docs/image.md says what is in it and how to load it.
#
#   docker build -t loam:0.1.0 .
#
# The chart picks the binary with the container's command, e.g. `command: [loam-node, --csi-endpoint=...]`.

ARG DEBIAN_IMAGE=debian:trixie-slim

# --- build: dist/ and the loam_udev addon, against trixie's own Node headers -------------------------
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm libnode-dev libudev-dev build-essential python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY native/binding.gyp native/build.mjs native/
COPY native/src native/src/
# All dependencies (typescript, @types/node, node-gyp) for the build; the addon is built later, once.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src src/
COPY tools/testenv/*.ts tools/testenv/
COPY tools/image/tsconfig.build.json tools/image/
RUN node node_modules/typescript/bin/tsc -p tools/image/tsconfig.build.json \
 && cp src/csi/csi.proto src/csi/pluginregistration.proto dist/src/csi/

# /app: production dependencies only. npm ci --omit=dev runs native/build.mjs, which then builds
# loam_udev alone (the loop-control addon is a test tool of development installs).
WORKDIR /app
COPY tools/image/prune-app.sh /src/tools/image/
RUN cp /src/package.json /src/package-lock.json ./ \
 && cp -r /src/native native \
 && npm_config_node_gyp=/src/node_modules/node-gyp/bin/node-gyp.js npm ci --omit=dev --no-audit --no-fund \
 && bash /src/tools/image/prune-app.sh /app \
 && cp -r /src/dist dist \
 && chmod 0755 dist/src/cmd/loam-node.js dist/src/cmd/loam-controller.js dist/src/cmd/loam-scheduler.js dist/src/cmd/loam.js

# --- runtime: Node.js and the storage tools, no compiler, no npm, no dev dependency ------------------
FROM ${DEBIAN_IMAGE}
# The list is tools/image/packages (npm run image installs exactly it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs libudev1 lvm2 thin-provisioning-tools e2fsprogs xfsprogs \
      util-linux mount drbd-utils smartmontools kmod \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/* /usr/share/doc/*/changelog* /usr/share/man/*
COPY --from=build /app /app
RUN for bin in loam-node loam-controller loam-scheduler loam; do ln -s /app/dist/src/cmd/$bin.js /usr/local/bin/$bin; done
ENV NODE_ENV=production
WORKDIR /app
LABEL org.opencontainers.image.title="loam" \
      org.opencontainers.image.description="Kubernetes-native local storage: LVM pools by media class, single- and dual-replica volumes through CSI" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:trixie"
CMD ["loam", "--help"]
