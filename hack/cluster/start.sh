#!/usr/bin/env bash
# Starts a one-node Kubernetes for the e2e suite on this machine, without Docker, kind or a registry:
# containerd + runc + CNI bridge from Debian, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy from bin/k8s, imports the images images.sh assembled
# meanwhile, and runs CoreDNS and metrics-server in the cluster. Needs root. Every process it starts is recorded in
# $state/pids; hack/cluster/stop.sh stops them and undoes the machine changes (run it even when this
# fails). The admin kubeconfig is $state/kubeconfig/admin.
set -euo pipefail
# shellcheck source=hack/cluster/env.sh
source "$(dirname "$0")/env.sh"
export PATH=$k8s_bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
pki=$state/pki cfg=$state/cfg logs=$state/logs
started=$SECONDS

say() { echo "cluster: [$((SECONDS - started))s] $*" >&2; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  [[ -x "$k8s_bin/$b" ]] || die "no $k8s_bin/$b: run hack/cluster/build.sh"
done
for c in containerd runc ctr iptables conntrack openssl; do
  command -v "$c" >/dev/null || die "no $c: apt-get install containerd runc containernetworking-plugins iptables conntrack openssl"
done
[[ -x /usr/lib/cni/bridge ]] || die "no CNI plugins in /usr/lib/cni: apt-get install containernetworking-plugins"
[[ -n "$host_ip" ]] || die "cannot tell this machine's IP from 'ip route get'"
if compgen -G "$state/pids/*.pid" >/dev/null; then
  die "pid files in $state/pids: a cluster runs or was not stopped; run hack/cluster/stop.sh"
fi
mkdir -p "$state/pids" "$pki" "$cfg" "$logs" "$state/kubeconfig" "$run"

# start NAME COMMAND... runs a daemon in its own session; the pid file holds the daemon's pid (its
# process group), written by the daemon's shell right before exec.
start() {
  local name=$1
  shift
  # shellcheck disable=SC2016 # expanded by the daemon's shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$state/pids/$name.pid" "$@" >"$logs/$name.log" 2>&1 </dev/null &
  wait_for "$name to start" 10 test -s "$state/pids/$name.pid"
}

# wait_for WHAT SECONDS COMMAND... polls COMMAND until it succeeds, for at most SECONDS.
wait_for() {
  local what=$1 limit=$2 deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what: not done within ${limit}s (logs in $logs)"
    sleep 0.5
  done
}

# Remember the sysctls the node's components change, once, for stop.sh.
if [[ ! -f "$state/sysctl.saved" ]]; then
  for k in "${saved_sysctls[@]}"; do
    echo "$k=$(sysctl -n "$k" 2>/dev/null)"
  done >"$state/sysctl.saved"
fi
# The iptables chains present before the cluster, so stop.sh removes only the ones it added.
[[ -f "$state/iptables.before" ]] || iptables-save >"$state/iptables.before"

# PKI: one CA for the cluster, one for the aggregation layer's front proxy, a serving certificate for
# the apiserver, a client certificate per component, the service-account key pair. Reused while the
# machine's IP is the same.
mkcert() { # NAME CN O EKU [SAN] [CA]
  local ca=${6:-ca}
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$2${3:+/O=$3}" 2>/dev/null
  {
    echo basicConstraints=CA:FALSE
    echo keyUsage=critical,digitalSignature,keyEncipherment
    echo "extendedKeyUsage=$4"
    [[ -z "${5:-}" ]] || echo "subjectAltName=$5"
  } >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -CAcreateserial -days 30 \
    -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
if ! openssl x509 -in "$pki/apiserver.crt" -noout -checkend 86400 -ext subjectAltName 2>/dev/null | grep -q "IP Address:$host_ip"; then
  say "generating the PKI"
  rm -f "$pki"/*
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 30 -subj /CN=recoflow-e2e-ca 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/front-proxy-ca.key" -out "$pki/front-proxy-ca.crt" -days 30 -subj /CN=recoflow-e2e-front-proxy-ca 2>/dev/null
  mkcert apiserver kube-apiserver "" serverAuth \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$cluster_domain,DNS:localhost,IP:$kubernetes_service_ip,IP:127.0.0.1,IP:$host_ip"
  mkcert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  mkcert front-proxy-client front-proxy-client "" clientAuth "" front-proxy-ca
  mkcert admin admin system:masters clientAuth
  mkcert kubelet "system:node:$node" system:nodes clientAuth
  mkcert controller-manager system:kube-controller-manager "" clientAuth
  mkcert scheduler system:kube-scheduler "" clientAuth
  mkcert kube-proxy system:kube-proxy "" clientAuth
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi
for c in admin kubelet controller-manager scheduler kube-proxy; do
  cat >"$state/kubeconfig/$c" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters: [{name: recoflow-e2e, cluster: {server: "https://$host_ip:$api_port", certificate-authority: "$pki/ca.crt"}}]
users: [{name: $c, user: {client-certificate: "$pki/$c.crt", client-key: "$pki/$c.key"}}]
contexts: [{name: recoflow-e2e, context: {cluster: recoflow-e2e, user: $c}}]
current-context: recoflow-e2e
KUBECONFIG
done

# containerd with its own root, state and socket. restrict_oom_score_adj: root on this VM lacks
# CAP_SYS_RESOURCE, so runc cannot lower a container's oom_score_adj as the kubelet asks (-998 for
# sandboxes); clamp it to containerd's own instead, or every pod sandbox fails to start.
cat >"$cfg/containerd.toml" <<TOML
version = 2
root = "$state/containerd"
state = "$run/containerd"
[grpc]
  address = "$containerd_sock"
[ttrpc]
  address = "$containerd_sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:e2e"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$run/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cfg/cni"
TOML
mkdir -p "$cfg/cni"
cat >"$cfg/cni/10-recoflow-e2e.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "recoflow-e2e",
  "plugins": [
    {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$node_pod_cidr"}]],
              "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$run/cni-ipam"}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
say "starting containerd"
start containerd containerd --config "$cfg/containerd.toml"
wait_for containerd 60 ctr --address "$containerd_sock" version
# The images are imported, several at a time, while the control plane starts; the node's pods
# need them only once it is Ready.
compgen -G "$state/images/*.tar" >/dev/null || die "no images in $state/images: run hack/cluster/images.sh"
printf '%s\0' "$state"/images/*.tar |
  xargs -0 -n 1 -P 4 ctr --address "$containerd_sock" -n k8s.io images import --all-platforms >"$logs/images.log" 2>&1 &
importing=$!

say "starting etcd and kube-apiserver"
start etcd etcd --name recoflow-e2e --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "recoflow-e2e=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls "" \
  --quota-backend-bytes 2147483648 --unsafe-no-fsync
wait_for etcd 60 curl -fsS "http://127.0.0.1:$etcd_port/health"

# The requestheader and proxy-client flags set up the aggregation layer that KEDA's metrics API
# server and metrics-server plug into.
start kube-apiserver kube-apiserver \
  --advertise-address="$host_ip" --bind-address="$host_ip" --secure-port="$api_port" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --client-ca-file="$pki/ca.crt" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer="https://kubernetes.default.svc.$cluster_domain" \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$service_cidr" --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction --allow-privileged=true --profiling=false \
  --requestheader-client-ca-file="$pki/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" --proxy-client-key-file="$pki/front-proxy-client.key" \
  --enable-aggregator-routing=true
api() { curl -fsS -A recoflow-e2e --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "https://$host_ip:$api_port$1"; }
wait_for kube-apiserver 180 api /readyz
say "kube-apiserver ready"

start kube-controller-manager kube-controller-manager \
  --kubeconfig="$state/kubeconfig/controller-manager" \
  --authentication-kubeconfig="$state/kubeconfig/controller-manager" --authorization-kubeconfig="$state/kubeconfig/controller-manager" \
  --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false --profiling=false \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" --use-service-account-credentials=true \
  --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$pod_cidr" --node-cidr-mask-size=24 --service-cluster-ip-range="$service_cidr" \
  --horizontal-pod-autoscaler-sync-period=5s --horizontal-pod-autoscaler-downscale-stabilization=20s
start kube-scheduler kube-scheduler \
  --kubeconfig="$state/kubeconfig/scheduler" \
  --authentication-kubeconfig="$state/kubeconfig/scheduler" --authorization-kubeconfig="$state/kubeconfig/scheduler" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --profiling=false

cat >"$cfg/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$containerd_sock
address: $host_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$pki/ca.crt"}
authorization: {mode: Webhook}
clusterDomain: $cluster_domain
clusterDNS: [$dns_ip]
resolvConf: /etc/resolv.conf
podLogsDir: $state/pod-logs
rotateCertificates: false
serializeImagePulls: false
maxPods: 200
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
YAML
say "starting kubelet and kube-proxy"
start kubelet kubelet --config="$cfg/kubelet.yaml" --kubeconfig="$state/kubeconfig/kubelet" \
  --hostname-override="$node" --node-ip="$host_ip" --root-dir="$state/kubelet" --cert-dir="$state/kubelet/pki" -v=1

# kube-proxy in iptables mode; conntrack zeros leave the machine's conntrack sysctls alone.
cat >"$cfg/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: "$state/kubeconfig/kube-proxy"}
hostnameOverride: $node
clusterCIDR: $pod_cidr
bindAddress: 127.0.0.1
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
iptables: {localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
start kube-proxy kube-proxy --config="$cfg/kube-proxy.yaml"

node_ready() { [[ $(api "/api/v1/nodes/$node") == *'"type":"Ready","status":"True"'* ]]; }
wait_for "node $node Ready" 180 node_ready
wait_for "the default ServiceAccount" 60 api /api/v1/namespaces/default/serviceaccounts/default
say "node $node Ready"
wait "$importing" || die "importing the images failed: $(cat "$logs/images.log")"
say "images imported"

# Cluster add-ons: CoreDNS (cluster DNS) and metrics-server (resource metrics for HPAs).
sed -e "s/@DNS_IP@/$dns_ip/g" -e "s/@CLUSTER_DOMAIN@/$cluster_domain/g" "$root/hack/cluster/coredns.yaml" | kubectl apply -f - >/dev/null
# Only CoreDNS is waited for: metrics-server turns ready once it has scraped the kubelet twice
# (about half a minute), which whoever needs resource metrics waits for (an HPA's ScalingActive).
if [[ -f "$state/images/metrics-server.tar" ]]; then
  kubectl apply -f "$cluster_bin/metrics-server.yaml" >/dev/null
else
  say "WARNING: no metrics-server image (hack/cluster/build.sh builds it): HPAs get no CPU metrics"
fi
kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null || die "CoreDNS did not become ready"
say "cluster up (metrics-server still starting): export KUBECONFIG=$KUBECONFIG"
