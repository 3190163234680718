package manifests

import (
	"testing"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestNames(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"raw topic", TopicName("shop", contract.TopicRaw), "shop.interactions.raw"},
		{"clean topic", TopicName("shop", contract.TopicClean), "shop.interactions.clean"},
		{"dead-letter topic", TopicName("shop", contract.TopicDeadLetter), "shop.interactions.dlq"},
		{"popularity topic", TopicName("shop", contract.TopicPopularity), "shop.popularity"},
		{"KafkaTopic resource", TopicResourceName("shop", contract.TopicDeadLetter), "shop-dlq"},
		{"Deployment", DeploymentName("shop", contract.FunctionPopularity), "shop-popularity"},
		{"consumer group", ConsumerGroup("shop", contract.FunctionClean), "shop-clean"},
		{"Strimzi bootstrap", testParams(AutoscalerKEDA).BootstrapServers(), "events-kafka-bootstrap.recoflow.svc.cluster.local:9092"},
		{"Strimzi bootstrap in another cluster domain", withDomain("corp.example").BootstrapServers(), "events-kafka-bootstrap.recoflow.svc.corp.example:9092"},
		{"bare bootstrap host completed", bootstrap("k:9093"), "k.recoflow.svc.cluster.local:9093"},
		{"qualified bootstrap hosts kept", bootstrap("k-0.k.kafka.svc:9093, broker.example.com:9094"), "k-0.k.kafka.svc:9093,broker.example.com:9094"},
		{"localhost kept", bootstrap("localhost:9092"), "localhost:9092"},
		{"ingest URL", testParams(AutoscalerKEDA).Endpoints().Ingest, "http://shop-ingest.recoflow.svc.cluster.local"},
		{"popularity URL", testParams(AutoscalerKEDA).Endpoints().Popularity, "http://shop-popularity.recoflow.svc.cluster.local"},
		{"URL in another cluster domain", withDomain("corp.example").Endpoints().Ingest, "http://shop-ingest.recoflow.svc.corp.example"},
		{"default image", DefaultImages().Clean, "ghcr.io/recoflow/recoflow-clean:0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

// withDomain returns the test pipeline's Params in a cluster with the given DNS domain.
func withDomain(domain string) Params {
	p := testParams(AutoscalerKEDA)
	p.ClusterDomain = domain
	return p
}

// bootstrap returns the bootstrap servers of the test pipeline with spec.kafka.bootstrapServers.
func bootstrap(servers string) string {
	return testParams(AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Kafka.BootstrapServers = servers }).BootstrapServers()
}

func TestSelectorLabelsAreLabels(t *testing.T) {
	for _, r := range contract.Functions() {
		labels := Labels("shop", string(r))
		for k, v := range SelectorLabels("shop", r) {
			if labels[k] != v {
				t.Errorf("%s: selector %s=%s is not among the labels %v", r, k, v, labels)
			}
		}
	}
}

func TestResolveAutoscaler(t *testing.T) {
	tests := []struct {
		mode          v1alpha1.ScalingMode
		kedaInstalled bool
		want          Autoscaler
		ok            bool
	}{
		{v1alpha1.ScalingAuto, true, AutoscalerKEDA, true},
		{v1alpha1.ScalingAuto, false, AutoscalerHPA, true},
		{v1alpha1.ScalingKEDA, true, AutoscalerKEDA, true},
		{v1alpha1.ScalingKEDA, false, AutoscalerNone, false},
		{v1alpha1.ScalingHPA, true, AutoscalerHPA, true},
		{v1alpha1.ScalingNone, true, AutoscalerNone, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			got, ok := ResolveAutoscaler(tt.mode, tt.kedaInstalled)
			if got != tt.want || ok != tt.ok {
				t.Errorf("ResolveAutoscaler(%s, keda=%t) = %s, %t; want %s, %t", tt.mode, tt.kedaInstalled, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseAutoscaler(t *testing.T) {
	for in, want := range map[string]Autoscaler{"keda": AutoscalerKEDA, "HPA": AutoscalerHPA, "None": AutoscalerNone} {
		if got, err := ParseAutoscaler(in); err != nil || got != want {
			t.Errorf("ParseAutoscaler(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseAutoscaler("auto"); err == nil {
		t.Error(`ParseAutoscaler("auto") succeeded, want an error`)
	}
}
