package manifests

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

func TestTriggerAuthentications(t *testing.T) {
	ref := func(param, secret, key string) any {
		return map[string]any{"parameter": param, "name": secret, "key": key}
	}
	clusterCA := ref("ca", "events-cluster-ca-cert", "ca.crt")
	tests := []struct {
		name       string
		autoscaler Autoscaler
		edit       func(*v1alpha1.RecommendationPipeline)
		// want are the clean TriggerAuthentication's secretTargetRef (popularity's are alike);
		// nil when none is built.
		want         []any
		wantUsername bool
		wantMetadata map[string]any // the security metadata of clean's Kafka trigger
	}{
		{name: "plain listener", autoscaler: AutoscalerKEDA, edit: func(*v1alpha1.RecommendationPipeline) {}},
		{
			name: "scram over TLS", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
			},
			want:         []any{ref("password", "shop-clean", "password"), clusterCA},
			wantUsername: true,
			wantMetadata: map[string]any{"sasl": "scram_sha512", "tls": "enable"},
		},
		{
			name: "scram on a plain listener", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
				p.Spec.Kafka.TLS = &v1alpha1.KafkaTLS{Enabled: ptr.To(false)}
			},
			want:         []any{ref("password", "shop-clean", "password")},
			wantUsername: true,
			wantMetadata: map[string]any{"sasl": "scram_sha512"},
		},
		{
			name: "mutual TLS with a named CA", autoscaler: AutoscalerKEDA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationTLS
				p.Spec.Kafka.TLS = &v1alpha1.KafkaTLS{CASecretRef: &v1alpha1.SecretKeyReference{Name: "corp-ca", Key: "bundle.pem"}}
			},
			want:         []any{ref("cert", "shop-clean", "user.crt"), ref("key", "shop-clean", "user.key"), ref("ca", "corp-ca", "bundle.pem")},
			wantMetadata: map[string]any{"tls": "enable"},
		},
		{
			name: "TLS without authentication", autoscaler: AutoscalerKEDA,
			edit:         func(p *v1alpha1.RecommendationPipeline) { p.Spec.Kafka.TLS = &v1alpha1.KafkaTLS{Enabled: ptr.To(true)} },
			want:         []any{clusterCA},
			wantMetadata: map[string]any{"tls": "enable"},
		},
		{
			name: "HPA needs none", autoscaler: AutoscalerHPA,
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams(tt.autoscaler, tt.edit)
			auths := TriggerAuthentications(p)
			if tt.want == nil {
				if len(auths) != 0 {
					t.Fatalf("built %d TriggerAuthentications, want none", len(auths))
				}
			} else {
				if len(auths) != 2 || auths[0].GetName() != "shop-clean" || auths[1].GetName() != "shop-popularity" {
					t.Fatalf("built %d TriggerAuthentications, want shop-clean and shop-popularity", len(auths))
				}
				refs, _, _ := unstructured.NestedSlice(auths[0].Object, "spec", "secretTargetRef")
				if !reflect.DeepEqual(refs, tt.want) {
					t.Errorf("secretTargetRef:\n got %v\nwant %v", refs, tt.want)
				}
				env, _, _ := unstructured.NestedSlice(auths[0].Object, "spec", "env")
				wantEnv := []any{map[string]any{"parameter": "username", "name": "RECOFLOW_KAFKA_USER", "containerName": "clean"}}
				if tt.wantUsername != reflect.DeepEqual(env, wantEnv) {
					t.Errorf("env = %v, want the user name from the container: %v", env, tt.wantUsername)
				}
			}

			objs := ScaledObjects(p)
			if len(objs) == 0 {
				return
			}
			trigger := objs[1].Object["spec"].(map[string]any)["triggers"].([]any)[0].(map[string]any)
			metadata := trigger["metadata"].(map[string]any)
			for _, k := range []string{"sasl", "tls"} {
				if got, want := metadata[k], tt.wantMetadata[k]; got != want {
					t.Errorf("trigger metadata %s = %v, want %v", k, got, want)
				}
			}
			authRef, hasRef := trigger["authenticationRef"]
			if hasRef != (tt.want != nil) || (hasRef && !reflect.DeepEqual(authRef, map[string]any{"name": "shop-clean"})) {
				t.Errorf("authenticationRef = %v, want one to shop-clean: %v", authRef, tt.want != nil)
			}
		})
	}
}
