package manifests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestKafkaUsers(t *testing.T) {
	acl := func(typ, name, pattern string, ops ...any) map[string]any {
		return map[string]any{"type": "allow", "resource": map[string]any{"type": typ, "name": name, "patternType": pattern}, "operations": ops}
	}
	wantACLs := map[string][]any{
		"shop-ingest": {acl("topic", "shop.interactions.raw", "literal", "Write")},
		"shop-clean": {
			acl("topic", "shop.interactions.raw", "literal", "Read"),
			acl("topic", "shop.interactions.clean", "literal", "Read", "Write"),
			acl("topic", "shop.interactions.dlq", "literal", "Write"),
			acl("group", "shop-clean", "literal", "Read"),
			acl("transactionalId", "shop-clean.", "prefix", "Write", "Describe"),
		},
		"shop-popularity": {
			acl("topic", "shop.interactions.clean", "literal", "Read"),
			acl("topic", "shop.popularity", "literal", "Read", "Write"),
			acl("group", "shop-popularity", "literal", "Read"),
			acl("transactionalId", "shop-popularity.", "prefix", "Write", "Describe"),
		},
		// The serving tier only follows the changelog, in no consumer group.
		"shop-popularity-serving": {acl("topic", "shop.popularity", "literal", "Read")},
	}
	tests := []struct {
		name     string
		auth     v1alpha1.KafkaAuthentication
		wantType string // "" when no users are built
	}{
		{name: "no authentication", auth: v1alpha1.KafkaAuthenticationNone},
		{name: "scram", auth: v1alpha1.KafkaAuthenticationSCRAM, wantType: "scram-sha-512"},
		{name: "mutual TLS", auth: v1alpha1.KafkaAuthenticationTLS, wantType: "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users := KafkaUsers(testParams(AutoscalerKEDA, func(p *v1alpha1.RecommendationPipeline) { p.Spec.Kafka.Authentication = tt.auth }))
			if tt.wantType == "" {
				if len(users) != 0 {
					t.Fatalf("built %d KafkaUsers for a pipeline without authentication", len(users))
				}
				return
			}
			if len(users) != len(wantACLs) {
				t.Fatalf("built %d KafkaUsers, want one per function", len(users))
			}
			for _, u := range users {
				if u.GroupVersionKind() != KafkaUserGVK || u.GetLabels()[LabelStrimziCluster] != "events" {
					t.Errorf("%s: %s labelled %v, want a kafka.strimzi.io/v1 KafkaUser of cluster events", u.GetName(), u.GroupVersionKind(), u.GetLabels())
				}
				if typ, _, _ := unstructured.NestedString(u.Object, "spec", "authentication", "type"); typ != tt.wantType {
					t.Errorf("%s authenticates with %q, want %q", u.GetName(), typ, tt.wantType)
				}
				if typ, _, _ := unstructured.NestedString(u.Object, "spec", "authorization", "type"); typ != "simple" {
					t.Errorf("%s authorization %q, want simple", u.GetName(), typ)
				}
				acls, _, _ := unstructured.NestedSlice(u.Object, "spec", "authorization", "acls")
				if want, ok := wantACLs[u.GetName()]; !ok || !reflect.DeepEqual(acls, want) {
					t.Errorf("%s ACLs:\n got %v\nwant %v", u.GetName(), acls, want)
				}
			}
		})
	}
}

// TestPluginKafkaUserSample checks that the KafkaUser the README tells an operator to apply for
// kubectl-recoflow on the secured sample pipeline is exactly what PluginKafkaUser builds.
func TestPluginKafkaUserSample(t *testing.T) {
	pl := readSample(t, "pipeline-secured.yaml")
	want := PluginKafkaUser(pl, "shop-kubectl-recoflow")
	raw, err := os.ReadFile(filepath.Join(samplesDir, "..", "kafka", "kafkauser-plugin.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got unstructured.Unstructured
	if err := yaml.Unmarshal(raw, &got.Object); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Object, want.Object) {
		b, _ := yaml.Marshal(want.Object)
		t.Errorf("manifests/kafka/kafkauser-plugin.yaml differs from PluginKafkaUser; want:\n%s", b)
	}
}
