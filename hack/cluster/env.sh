# Settings shared by hack/cluster's scripts (sourced). One e2e cluster per machine: the node name,
# bridge, ports and directories are fixed, and chosen not to collide with kind, envtest or `make run`.
# shellcheck shell=bash disable=SC2034 # the scripts that source this file use the settings
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# state: PKI, configs, logs, etcd and containerd data (kept between runs: the PKI is reused).
state=${RECOFLOW_E2E_STATE:-/var/tmp/recoflow-e2e}
# run: sockets and runtime state (tmpfs).
run=/run/recoflow-e2e
# The Debian packages the node needs (e2e.sh installs them when missing).
cluster_packages=(containerd runc containernetworking-plugins iptables conntrack openssl curl iproute2 procps)
k8s_bin=$root/bin/k8s
cluster_bin=$root/bin/cluster
node=recoflow-e2e
bridge=cni-recoflow0
etcd_port=12379
etcd_peer_port=12380
api_port=16443
service_cidr=10.96.0.0/16
kubernetes_service_ip=10.96.0.1
dns_ip=10.96.0.10
pod_cidr=10.244.0.0/16
node_pod_cidr=10.244.0.0/24
cluster_domain=cluster.local
host_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')
export KUBECONFIG=$state/kubeconfig/admin
containerd_sock=$run/containerd.sock
# The sysctls the kubelet, the CNI bridge plugin and kube-proxy change; start.sh saves them, stop.sh
# restores them.
saved_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.route_localnet)
