package manifests

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestNetworkPolicies(t *testing.T) {
	clients := &metav1.LabelSelector{MatchLabels: map[string]string{"team": "shop"}}
	monitoring := &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}
	everyNamespace := &metav1.LabelSelector{}
	tests := []struct {
		name string
		edit func(*v1alpha1.RecommendationPipeline)
		// want* are nil when no policies are built. Ingest and popularity serving answer clients;
		// the consumers, clean and popularity scoring, only metrics scrapes.
		wantIngestFrom, wantConsumerFrom []*metav1.LabelSelector
		wantKafkaPorts                   []int32
		wantBrokerPods                   bool
	}{
		{
			name: "disabled", edit: func(p *v1alpha1.RecommendationPipeline) { p.Spec.NetworkPolicy.Enabled = ptr.To(false) },
		},
		{
			name: "defaults", edit: func(*v1alpha1.RecommendationPipeline) {},
			wantIngestFrom: []*metav1.LabelSelector{everyNamespace}, wantConsumerFrom: []*metav1.LabelSelector{everyNamespace},
			wantKafkaPorts: []int32{9092}, wantBrokerPods: true,
		},
		{
			name: "selected namespaces and TLS",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.NetworkPolicy.ClientNamespaceSelector = clients
				p.Spec.NetworkPolicy.MetricsNamespaceSelector = monitoring
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
			},
			wantIngestFrom: []*metav1.LabelSelector{clients, monitoring}, wantConsumerFrom: []*metav1.LabelSelector{monitoring},
			wantKafkaPorts: []int32{9093}, wantBrokerPods: true,
		},
		{
			name: "explicit bootstrap servers",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.BootstrapServers = "kafka-0.example.net:9094, kafka-1.example.net:9094,[fd00::1]:9095"
			},
			wantIngestFrom: []*metav1.LabelSelector{everyNamespace}, wantConsumerFrom: []*metav1.LabelSelector{everyNamespace},
			wantKafkaPorts: []int32{9094, 9095},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policies := NetworkPolicies(testParams(AutoscalerKEDA, tt.edit))
			if tt.wantIngestFrom == nil {
				if len(policies) != 0 {
					t.Fatalf("built %d NetworkPolicies, want none", len(policies))
				}
				return
			}
			if len(policies) != 4 {
				t.Fatalf("built %d NetworkPolicies, want one per function", len(policies))
			}
			for i, r := range contract.Functions() {
				np := policies[i]
				if np.Name != DeploymentName("shop", r) || !equalLabels(np.Spec.PodSelector.MatchLabels, SelectorLabels("shop", r)) {
					t.Errorf("policy %d is %s selecting %v, want %s's pods", i, np.Name, np.Spec.PodSelector.MatchLabels, r)
				}
				if len(np.Spec.PolicyTypes) != 2 {
					t.Errorf("%s: policy types %v, want Ingress and Egress", np.Name, np.Spec.PolicyTypes)
				}
				wantFrom := tt.wantIngestFrom
				if r == contract.FunctionClean || r == contract.FunctionPopularity {
					wantFrom = tt.wantConsumerFrom
				}
				checkIngress(t, np, wantFrom)
				checkEgress(t, np, tt.wantKafkaPorts, tt.wantBrokerPods)
			}
		})
	}
}

func equalLabels(a, b map[string]string) bool {
	return metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: a}) == metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: b})
}

func checkIngress(t *testing.T, np *networkingv1.NetworkPolicy, want []*metav1.LabelSelector) {
	t.Helper()
	if len(np.Spec.Ingress) != 1 {
		t.Fatalf("%s: %d ingress rules, want one on the HTTP port", np.Name, len(np.Spec.Ingress))
	}
	rule := np.Spec.Ingress[0]
	if len(rule.Ports) != 1 || rule.Ports[0].Port.String() != PortName {
		t.Errorf("%s: ingress ports %v, want only %q", np.Name, rule.Ports, PortName)
	}
	if len(rule.From) != len(want) {
		t.Fatalf("%s: ingress from %v, want namespaces %v", np.Name, rule.From, want)
	}
	for i, peer := range rule.From {
		if peer.PodSelector != nil || peer.IPBlock != nil || peer.NamespaceSelector == nil ||
			metav1.FormatLabelSelector(peer.NamespaceSelector) != metav1.FormatLabelSelector(want[i]) {
			t.Errorf("%s: ingress peer %d is %v, want namespaces %v", np.Name, i, peer, want[i])
		}
	}
}

func checkEgress(t *testing.T, np *networkingv1.NetworkPolicy, kafkaPorts []int32, brokerPods bool) {
	t.Helper()
	if len(np.Spec.Egress) != 2 {
		t.Fatalf("%s: %d egress rules, want DNS and Kafka", np.Name, len(np.Spec.Egress))
	}
	dns, kafka := np.Spec.Egress[0], np.Spec.Egress[1]
	if len(dns.To) != 0 || len(dns.Ports) != 2 || dns.Ports[0].Port.IntValue() != DNSPort || dns.Ports[1].Port.IntValue() != DNSPort {
		t.Errorf("%s: DNS rule %v, want port 53 over UDP and TCP", np.Name, dns)
	}
	var ports []int32
	for _, p := range kafka.Ports {
		ports = append(ports, int32(p.Port.IntValue()))
	}
	if len(ports) != len(kafkaPorts) || (len(ports) > 0 && ports[0] != kafkaPorts[0]) || (len(ports) > 1 && ports[1] != kafkaPorts[1]) {
		t.Errorf("%s: Kafka ports %v, want %v", np.Name, ports, kafkaPorts)
	}
	if brokerPods {
		if len(kafka.To) != 1 || kafka.To[0].PodSelector == nil ||
			kafka.To[0].PodSelector.MatchLabels[LabelStrimziCluster] != "events" || kafka.To[0].PodSelector.MatchLabels[LabelStrimziKind] != "Kafka" {
			t.Errorf("%s: Kafka peers %v, want the pods of Strimzi Kafka events", np.Name, kafka.To)
		}
	} else if len(kafka.To) != 0 {
		t.Errorf("%s: Kafka peers %v, want any address on the bootstrap ports", np.Name, kafka.To)
	}
}
