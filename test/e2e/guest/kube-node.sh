#!/bin/bash
# Turns a Loam e2e guest into a Kubernetes node's host, or into the builder of the cached image disk.
# Run by the harness (harness/kube-node.ts) through the agent, once per boot, with its settings in
# the environment:
#   NODE_BIN        folder of kubelet, kube-proxy, containerd, containerd-shim-runc-v2, ctr, runc
#   MODROOT         the kernel cache (`modprobe -d`): the guest's modprobe cannot find modules itself
#   STATE_DEV       the ext4 disk for containerd's and the kubelet's state (/dev/vdX)
#   STATE_MKFS      1: make the filesystem first (the builder of the image disk)
#   PAUSE_IMAGE     the sandbox image, already in the state disk (pinned: never pulled, never collected)
#   MODE            `images`: only the state disk and containerd (the builder); `node`: everything
# and for MODE=node also:
#   NODE_NAME NODE_IP  the Node's name and its InternalIP (its private-link address)
#   POD_CIDR        this node's pod range (the CNI bridge's host-local range)
#   CLUSTER_CIDR    every node's pod ranges together (traffic inside it is not masqueraded)
#   ROUTES          "range,via range,via ...": the other nodes' pod ranges over the private link
#   KUBECONFIG      the node's kubeconfig in the guest
# Daemons log to /var/log/loam-<name>.log and record their PID in /run/loam-<name>.pid.
set -euo pipefail
export PATH="$NODE_BIN:$PATH"
say() { echo "kube-node: $*" >&2; }

# --- the kernel side: modules the guest cannot autoload, cgroup2, shared mounts, forwarding
# bridge/veth for the CNI bridge, overlay for containerd's snapshotter, br_netfilter so bridged pod
# traffic passes iptables (kube-proxy's service rules), and what iptables-nft needs for kube-proxy's
# rules and the masquerade rule below.
modprobe -d "$MODROOT" -a bridge br_netfilter veth overlay \
  nf_tables nft_chain_nat nft_masq nft_compat nft_ct nft_reject_ipv4 ipt_REJECT \
  xt_MASQUERADE xt_comment xt_addrtype xt_conntrack xt_mark xt_multiport xt_nat xt_statistic xt_tcpudp
# Stage 2 mounts no cgroup filesystem; v2 has every controller the kubelet and runc use.
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables

# --- state: containerd's overlayfs snapshotter fails (EINVAL) on the guest's overlay root, so its
# state and the kubelet's live on an ext4 disk; the cached image disk already holds the images.
state=/var/lib/loam-node
if [ "${STATE_MKFS:-0}" = 1 ]; then mkfs.ext4 -q -F -L loam-node "$STATE_DEV"; fi
mkdir -p "$state" /var/lib/containerd /var/lib/kubelet
mountpoint -q "$state" || mount -t ext4 "$STATE_DEV" "$state"
mkdir -p "$state/containerd" "$state/kubelet"
mountpoint -q /var/lib/containerd || mount --bind "$state/containerd" /var/lib/containerd
mountpoint -q /var/lib/kubelet || mount --bind "$state/kubelet" /var/lib/kubelet
# Bidirectional mount propagation (a CSI driver's kubelet directory) needs shared mounts.
mount --make-rshared /

# --- containerd (config version 3)
mkdir -p /etc/containerd /etc/cni/net.d /var/log
cat > /etc/containerd/config.toml <<EOF
version = 3
root = "/var/lib/containerd"
state = "/run/containerd"
[grpc]
  address = "/run/containerd/containerd.sock"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
    BinaryName = "$NODE_BIN/runc"
    SystemdCgroup = false
[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "/etc/cni/net.d"
EOF

# Starts a daemon in its own session; its PID goes to /run/loam-<name>.pid.
start_daemon() {
  local name=$1; shift
  setsid "$@" > "/var/log/loam-$name.log" 2>&1 < /dev/null &
  echo $! > "/run/loam-$name.pid"
}

start_daemon containerd containerd --config /etc/containerd/config.toml
for _ in $(seq 300); do
  ctr version > /dev/null 2>&1 && break
  kill -0 "$(cat /run/loam-containerd.pid)" 2> /dev/null || { say "containerd exited"; tail -20 /var/log/loam-containerd.log >&2; exit 1; }
  sleep 0.2
done
ctr version > /dev/null

[ "$MODE" = images ] && exit 0

# --- pod network: a bridge per node with its own range, the other nodes' ranges routed over the
# private link. Pod-to-pod traffic keeps its addresses (no masquerade inside CLUSTER_CIDR); traffic
# leaving the pods' ranges (to the API server through the user-mode NIC) is masqueraded.
cat > /etc/cni/net.d/10-loam.conflist <<EOF
{
  "cniVersion": "1.0.0",
  "name": "loam-pods",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
for route in ${ROUTES:-}; do
  ip route replace "${route%,*}" via "${route#*,}"
done
# The Service range (the control plane's --service-cluster-ip-range) through the user-mode NIC: the
# guest has no default route, and a host-network pod's connect() to 10.96.0.1 (loam-node's, to the
# API server) would fail with ENETUNREACH before kube-proxy's DNAT could rewrite it.
ip route replace 10.96.0.0/16 dev "$(ip route get 10.0.2.100 | sed -n 's/.* dev \([^ ]*\).*/\1/p')"
iptables -w -t nat -C POSTROUTING -s "$CLUSTER_CIDR" ! -d "$CLUSTER_CIDR" -j MASQUERADE 2> /dev/null \
  || iptables -w -t nat -A POSTROUTING -s "$CLUSTER_CIDR" ! -d "$CLUSTER_CIDR" -j MASQUERADE

# --- kubelet
mkdir -p /etc/kubernetes
cat > /etc/kubernetes/kubelet.yaml <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
# No DNS server in these clusters: pods get no resolv.conf rather than the guest's.
resolvConf: ""
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
# The API server reaches the kubelet (logs, exec) only through the harness's loopback forward and
# presents no client certificate: a test cluster's kubelet lets it in without one.
authentication:
  anonymous: { enabled: true }
  webhook: { enabled: false }
authorization:
  mode: AlwaysAllow
# The state disk is mostly images: the defaults would evict pods and collect the imported images.
evictionHard:
  memory.available: 32Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
EOF
start_daemon kubelet kubelet --config /etc/kubernetes/kubelet.yaml --kubeconfig "$KUBECONFIG" \
  --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --v 1

# --- kube-proxy: the `kubernetes` Service (10.96.0.1:443) to the API server for pods
cat > /etc/kubernetes/kube-proxy.yaml <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the kernel's conntrack settings alone.
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
EOF
start_daemon kube-proxy kube-proxy --config /etc/kubernetes/kube-proxy.yaml --v 1
