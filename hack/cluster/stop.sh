#!/usr/bin/env bash
# Stops the e2e cluster that hack/cluster/start.sh started, whatever state it is in, and undoes what it
# changed on the machine: its processes (exactly those in $state/pids) and their containers, mounts and
# network namespaces, the CNI bridge, the iptables chains and rules the kubelet, kube-proxy and the CNI
# plugins added, kubepods cgroups, and the sysctls they changed. The cluster's data (etcd, containerd)
# is deleted; the PKI and the image tarballs are kept for the next start.
set -uo pipefail
# shellcheck source=hack/cluster/env.sh
source "$(dirname "$0")/env.sh"
export PATH=$k8s_bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# ours PID NAME is true when PID still leads its process group and runs NAME (not a reused pid).
ours() {
  [[ -n "$1" && "$(ps -o pgid= -p "$1" 2>/dev/null | tr -d ' ')" == "$1" ]] &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$2"
}

# stop NAME terminates the process group start.sh started for NAME, then kills what is left of it.
stop() {
  local name=$1 pid
  pid=$(cat "$state/pids/$name.pid" 2>/dev/null) || return 0
  if ours "$pid" "$name"; then
    kill -TERM -- "-$pid" 2>/dev/null
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    ! ours "$pid" "$name" || kill -KILL -- "-$pid" 2>/dev/null
    echo "cluster: stopped $name ($pid)" >&2
  fi
  rm -f "$state/pids/$name.pid"
}

# The node agents and control plane first, so that nothing restarts the containers.
for name in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
  stop "$name"
done

# Every container of our containerd: kill it, delete it, and unmount its network namespace.
if [[ -S "$containerd_sock" ]] && ctr --address "$containerd_sock" version >/dev/null 2>&1; then
  c=(ctr --address "$containerd_sock" -n k8s.io)
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks kill -s KILL "$id" >/dev/null 2>&1
  done
  for id in $("${c[@]}" containers ls -q 2>/dev/null); do
    netns=$("${c[@]}" containers info "$id" 2>/dev/null | grep -o '"/var/run/netns/cni-[^"]*"' | tr -d '"' | head -1)
    "${c[@]}" tasks delete -f "$id" >/dev/null 2>&1
    "${c[@]}" containers delete "$id" >/dev/null 2>&1
    if [[ -n "$netns" && -e "$netns" ]]; then
      umount "$netns" 2>/dev/null
      rm -f "$netns"
    fi
  done
fi
stop containerd
# The shims of our containerd outlive it (they are re-parented to init): kill those serving our socket.
for proc in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null) || continue
  if [[ "$cmd" == *containerd-shim*"-address $containerd_sock "* ]]; then
    kill -KILL "${proc#/proc/}" 2>/dev/null && echo "cluster: killed shim ${proc#/proc/}" >&2
  fi
done

# Mounts under our directories (volumes, container root filesystems, shm), deepest first.
awk -v a="$state/" -v b="$run/" 'index($5, a) == 1 || index($5, b) == 1 {print $5}' /proc/self/mountinfo |
  sort -r | while read -r mount; do umount -l "$mount" 2>/dev/null; done

# Network: our bridge, kube-proxy's chains, the CNI masquerade rules of our network and their chains,
# and the kubelet's own chains; then every other KUBE-/CNI- chain that was not there before start.sh.
ip link del "$bridge" 2>/dev/null && echo "cluster: removed bridge $bridge" >&2
kube-proxy --cleanup >/dev/null 2>&1
iptables-save -t nat 2>/dev/null | grep -E '^-A POSTROUTING .*"name: \\"recoflow-e2e\\"' | while read -r rule; do
  chain=$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")
  eval "iptables -t nat ${rule/-A /-D }" 2>/dev/null
  [[ -z "$chain" ]] || { iptables -t nat -F "$chain" && iptables -t nat -X "$chain"; } 2>/dev/null
done
for ipt in iptables ip6tables; do
  while $ipt -t filter -D INPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
  while $ipt -t filter -D OUTPUT -j KUBE-FIREWALL 2>/dev/null; do :; done
  for table_chain in filter:KUBE-FIREWALL filter:KUBE-KUBELET-CANARY nat:KUBE-KUBELET-CANARY \
    mangle:KUBE-KUBELET-CANARY mangle:KUBE-IPTABLES-HINT; do
    $ipt -t "${table_chain%%:*}" -F "${table_chain#*:}" 2>/dev/null &&
      $ipt -t "${table_chain%%:*}" -X "${table_chain#*:}" 2>/dev/null
  done
done
if [[ -f "$state/iptables.before" ]]; then
  for table in filter nat mangle; do
    before=$(sed -n "/^\*$table/,/^COMMIT/p" "$state/iptables.before" | sed -n 's/^:\([^ ]*\) .*/\1/p')
    for chain in $(iptables-save -t "$table" 2>/dev/null | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p'); do
      grep -qx -- "$chain" <<<"$before" && continue
      iptables-save -t "$table" | grep -E -- "-j $chain( |$)" | while read -r rule; do
        eval "iptables -t $table ${rule/-A /-D }" 2>/dev/null
      done
      iptables -t "$table" -F "$chain" 2>/dev/null
      iptables -t "$table" -X "$chain" 2>/dev/null && echo "cluster: removed iptables chain $table/$chain" >&2
    done
  done
  rm -f "$state/iptables.before"
fi

# kubepods cgroups (cgroup v1: one hierarchy per controller).
for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [[ -d "$cg" ]] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# Sysctls back to what start.sh found.
if [[ -f "$state/sysctl.saved" ]]; then
  while IFS='=' read -r key value; do
    [[ -z "$value" ]] || sysctl -qw "$key=$value" 2>/dev/null
  done <"$state/sysctl.saved"
  rm -f "$state/sysctl.saved"
fi

rm -rf "$state/etcd" "$state/containerd" "$state/kubelet" "$state/pod-logs" "$run"
# containerd 1.6's shims keep sockets and fifos in /run/containerd whatever its state directory;
# remove those directories when nothing else uses them.
rmdir /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd 2>/dev/null
echo "cluster: stopped" >&2
exit 0
