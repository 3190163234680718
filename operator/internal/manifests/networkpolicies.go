package manifests

import (
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Labels Strimzi puts on the pods of a Kafka cluster, by which a NetworkPolicy selects the brokers.
const (
	LabelStrimziKind = "strimzi.io/kind"
	StrimziKindKafka = "Kafka"
)

// DNSPort is where the functions resolve names, over UDP and TCP.
const DNSPort = 53

// NetworkPolicies returns a NetworkPolicy per function, in Roles order, unless
// spec.networkPolicy.enabled is false. Each denies every connection its function does not need:
//
//   - ingress: ingest and popularity's serving tier accept HTTP from pods in the namespaces of
//     clientNamespaceSelector and metricsNamespaceSelector (their API, health and metrics share
//     one port); clean and popularity scoring, which have no API, accept only metrics scrapes.
//     Unset selectors mean every namespace: any in-cluster client, nothing from outside the
//     cluster.
//   - egress: DNS, and Kafka only: the Strimzi cluster's pods on the listener port for the
//     default bootstrap address, or any address on the ports of spec.kafka.bootstrapServers.
func NetworkPolicies(p Params) []*networkingv1.NetworkPolicy {
	pl := p.Pipeline
	if !pl.Spec.NetworkPolicy.IsEnabled() {
		return nil
	}
	out := make([]*networkingv1.NetworkPolicy, 0, len(contract.Functions()))
	for _, r := range contract.Functions() {
		out = append(out, &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: p.objectMeta(r),
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(pl.Name, r)},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				Ingress:     []networkingv1.NetworkPolicyIngressRule{httpIngress(pl, r)},
				Egress:      []networkingv1.NetworkPolicyEgressRule{dnsEgress(), kafkaEgress(p)},
			},
		})
	}
	return out
}

// httpIngress allows the HTTP port of a function from the namespaces that may reach it.
func httpIngress(pl *v1alpha1.RecommendationPipeline, r Role) networkingv1.NetworkPolicyIngressRule {
	np := pl.Spec.NetworkPolicy
	namespaces := func(s *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
		if s == nil {
			return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}}
		}
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: s.DeepCopy()}
	}
	from := []networkingv1.NetworkPolicyPeer{namespaces(np.MetricsNamespaceSelector)}
	if servesClients(r) {
		from = append([]networkingv1.NetworkPolicyPeer{namespaces(np.ClientNamespaceSelector)}, from...)
	}
	// Equal peers, as with both selectors unset, say the same thing once.
	from = slices.CompactFunc(from, func(a, b networkingv1.NetworkPolicyPeer) bool { return a.String() == b.String() })
	return networkingv1.NetworkPolicyIngressRule{
		From:  from,
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromString(PortName))}},
	}
}

// servesClients reports whether a role answers clients' HTTP requests: ingest, and popularity's
// serving tier behind the popularity Service.
func servesClients(r Role) bool {
	return r == contract.FunctionIngest || r == readsFrom(contract.FunctionPopularity)
}

// dnsEgress allows name lookups on any DNS server: clusters run DNS in different places.
func dnsEgress() networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{
		{Protocol: ptr.To(corev1.ProtocolUDP), Port: ptr.To(intstr.FromInt32(DNSPort))},
		{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(DNSPort))},
	}}
}

// kafkaEgress allows the connections to Kafka: the Strimzi cluster's pods on the listener port
// of the default bootstrap address, or any address on the ports of explicit bootstrap servers.
func kafkaEgress(p Params) networkingv1.NetworkPolicyEgressRule {
	pl := p.Pipeline
	var ports []networkingv1.NetworkPolicyPort
	for _, port := range bootstrapPorts(p.BootstrapServers()) {
		ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(port))})
	}
	rule := networkingv1.NetworkPolicyEgressRule{Ports: ports}
	if pl.Spec.Kafka.BootstrapServers == "" {
		rule.To = []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			LabelStrimziCluster: pl.Spec.Kafka.ClusterRef.Name,
			LabelStrimziKind:    StrimziKindKafka,
		}}}}
	}
	return rule
}

// bootstrapPorts returns the distinct ports of a comma-separated host:port list, in order.
func bootstrapPorts(servers string) []int32 {
	var ports []int32
	for _, s := range strings.Split(servers, ",") {
		_, p, err := net.SplitHostPort(strings.TrimSpace(s))
		if err != nil {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 || slices.Contains(ports, int32(n)) {
			continue
		}
		ports = append(ports, int32(n))
	}
	return ports
}
