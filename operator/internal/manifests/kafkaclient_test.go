package manifests

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// TestDeploymentKafkaClient checks what a function's pod gets to connect to a secured Kafka: the
// bootstrap port of Strimzi's listener, the variables the function reads, and the Secret keys
// mounted where those variables point.
func TestDeploymentKafkaClient(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(*v1alpha1.RecommendationPipeline)
		brokers   string
		env       map[string]string // the RECOFLOW_KAFKA_* variables besides the brokers
		userItems []string          // keys mounted from the function's KafkaUser Secret
		ca        *corev1.KeyToPath // the CA Secret key mounted, from caSecret
		caSecret  string
	}{
		{name: "plain", edit: func(*v1alpha1.RecommendationPipeline) {}, brokers: "events-kafka-bootstrap.recoflow.svc.cluster.local:9092", env: map[string]string{}},
		{
			name: "scram",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
			},
			brokers: "events-kafka-bootstrap.recoflow.svc.cluster.local:9093",
			env: map[string]string{
				contract.EnvKafkaAuthentication: "scram-sha-512", contract.EnvKafkaUser: "shop-clean",
				contract.EnvKafkaPasswordFile: "/var/run/secrets/recoflow/kafka-user/password",
				contract.EnvKafkaTLS:          "true", contract.EnvKafkaCAFile: "/var/run/secrets/recoflow/kafka-ca/ca.crt",
			},
			userItems: []string{"password"},
			ca:        &corev1.KeyToPath{Key: "ca.crt", Path: "ca.crt"}, caSecret: "events-cluster-ca-cert",
		},
		{
			name: "mutual TLS with a named CA",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationTLS
				p.Spec.Kafka.TLS = &v1alpha1.KafkaTLS{CASecretRef: &v1alpha1.SecretKeyReference{Name: "corp-ca", Key: "bundle.pem"}}
			},
			brokers: "events-kafka-bootstrap.recoflow.svc.cluster.local:9093",
			env: map[string]string{
				contract.EnvKafkaAuthentication: "tls",
				contract.EnvKafkaCertFile:       "/var/run/secrets/recoflow/kafka-user/user.crt",
				contract.EnvKafkaKeyFile:        "/var/run/secrets/recoflow/kafka-user/user.key",
				contract.EnvKafkaTLS:            "true", contract.EnvKafkaCAFile: "/var/run/secrets/recoflow/kafka-ca/ca.crt",
			},
			userItems: []string{"user.crt", "user.key"},
			ca:        &corev1.KeyToPath{Key: "bundle.pem", Path: "ca.crt"}, caSecret: "corp-ca",
		},
		{
			name: "scram on the plain listener",
			edit: func(p *v1alpha1.RecommendationPipeline) {
				p.Spec.Kafka.Authentication = v1alpha1.KafkaAuthenticationSCRAM
				p.Spec.Kafka.TLS = &v1alpha1.KafkaTLS{Enabled: ptr.To(false)}
			},
			brokers: "events-kafka-bootstrap.recoflow.svc.cluster.local:9092",
			env: map[string]string{
				contract.EnvKafkaAuthentication: "scram-sha-512", contract.EnvKafkaUser: "shop-clean",
				contract.EnvKafkaPasswordFile: "/var/run/secrets/recoflow/kafka-user/password",
			},
			userItems: []string{"password"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Deployments(testParams(AutoscalerKEDA, tt.edit))[1] // clean
			pod := d.Spec.Template.Spec
			c := pod.Containers[0]
			got := map[string]string{}
			for _, v := range c.Env {
				if v.Name == contract.EnvKafkaBrokers {
					if v.Value != tt.brokers {
						t.Errorf("brokers %q, want %q", v.Value, tt.brokers)
					}
					continue
				}
				if strings.HasPrefix(v.Name, "RECOFLOW_KAFKA_") {
					got[v.Name] = v.Value
				}
			}
			if len(got) != len(tt.env) {
				t.Errorf("Kafka variables %v, want %v", got, tt.env)
			}
			for k, v := range tt.env {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			volumes := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				volumes[v.Name] = v
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m
			}
			user, ok := volumes[kafkaUserVolume]
			if ok != (tt.userItems != nil) {
				t.Fatalf("KafkaUser Secret mounted: %v, want %v", ok, tt.userItems != nil)
			}
			if ok {
				if user.Secret.SecretName != "shop-clean" || len(user.Secret.Items) != len(tt.userItems) {
					t.Errorf("user volume %v, want Secret shop-clean keys %v", user.Secret, tt.userItems)
				}
				for i, k := range tt.userItems {
					if user.Secret.Items[i].Key != k || user.Secret.Items[i].Path != k {
						t.Errorf("user volume item %d = %v, want %s", i, user.Secret.Items[i], k)
					}
				}
				if m := mounts[kafkaUserVolume]; m.MountPath != KafkaUserMountPath || !m.ReadOnly {
					t.Errorf("user mount %v, want read-only at %s", m, KafkaUserMountPath)
				}
			}
			ca, ok := volumes[kafkaCAVolume]
			if ok != (tt.ca != nil) {
				t.Fatalf("CA mounted: %v, want %v", ok, tt.ca != nil)
			}
			if ok {
				if ca.Secret.SecretName != tt.caSecret || len(ca.Secret.Items) != 1 || ca.Secret.Items[0] != *tt.ca {
					t.Errorf("CA volume %v, want Secret %s item %v", ca.Secret, tt.caSecret, *tt.ca)
				}
				if m := mounts[kafkaCAVolume]; m.MountPath != KafkaCAMountPath || !m.ReadOnly {
					t.Errorf("CA mount %v, want read-only at %s", m, KafkaCAMountPath)
				}
			}
		})
	}
}
