package main

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// TestKafkaCredentials reads what connecting to a secured pipeline's Kafka takes from the Secrets
// Strimzi writes, in a real API server, as `--kafka-user` does: the cluster CA and the KafkaUser's
// password or certificate and key, each in a private file removed afterwards; and says what is
// missing otherwise.
func TestKafkaCredentials(t *testing.T) {
	_, c, _ := startCluster(t, "recoflow")
	ctx := context.Background()
	for name, data := range map[string]map[string]string{
		"events-cluster-ca-cert": {"ca.crt": "CA"},
		"ops-scram":              {"password": "s3cret"},
		"ops-tls":                {"user.crt": "CERT", "user.key": "KEY"},
		"ops-empty":              {"sasl.jaas.config": "x"},
	} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "recoflow", Name: name}, StringData: data}
		if err := c.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	pipeline := func(auth v1alpha1.KafkaAuthentication) *v1alpha1.RecommendationPipeline {
		p := &v1alpha1.RecommendationPipeline{ObjectMeta: metav1.ObjectMeta{Namespace: "recoflow", Name: "shop"},
			Spec: v1alpha1.RecommendationPipelineSpec{Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}, Authentication: auth}}}
		p.Default()
		return p
	}

	for _, tc := range []struct {
		name string
		auth v1alpha1.KafkaAuthentication
		user string
		// files are the contents of the files the credentials name, by field.
		files   map[string]string
		wantErr []string
	}{
		{name: "plain", files: map[string]string{}},
		{name: "scram", auth: v1alpha1.KafkaAuthenticationSCRAM, user: "ops-scram",
			files: map[string]string{"ca": "CA", "password": "s3cret"}},
		{name: "tls", auth: v1alpha1.KafkaAuthenticationTLS, user: "ops-tls",
			files: map[string]string{"ca": "CA", "cert": "CERT", "key": "KEY"}},
		{name: "no user", auth: v1alpha1.KafkaAuthenticationSCRAM, wantErr: []string{
			"pipeline recoflow/shop authenticates to Kafka with scram-sha-512: give --kafka-user",
			"[Read] on topic shop.interactions.dlq", "[Read Write] on topic shop.interactions.raw", "[Describe] on group shop-clean",
			"manifests/kafka/kafkauser-plugin.yaml"}},
		{name: "no secret", auth: v1alpha1.KafkaAuthenticationSCRAM, user: "ops-missing", wantErr: []string{
			"the credentials of KafkaUser ops-missing", "Secret recoflow/ops-missing", "not found"}},
		{name: "no password", auth: v1alpha1.KafkaAuthenticationSCRAM, user: "ops-empty", wantErr: []string{
			"Secret recoflow/ops-empty has no key password"}},
		{name: "no key", auth: v1alpha1.KafkaAuthenticationTLS, user: "ops-scram", wantErr: []string{
			"Secret recoflow/ops-scram has no key user.crt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth, cleanup, err := kafkaCredentials(ctx, c, pipeline(tc.auth), tc.user)
			if len(tc.wantErr) > 0 {
				if err == nil {
					cleanup()
					t.Fatalf("credentials %+v, want an error", auth)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			files := map[string]string{"ca": auth.CAFile, "password": auth.PasswordFile, "cert": auth.CertFile, "key": auth.KeyFile}
			for field, path := range files {
				want, ok := tc.files[field]
				if !ok {
					if path != "" {
						t.Errorf("%s file %s, want none", field, path)
					}
					continue
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != want {
					t.Errorf("%s file holds %q (%v), want %q", field, got, err, want)
				}
				if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() != 0o600 {
					t.Errorf("%s file mode %v, want 0600", field, fi.Mode().Perm())
				}
			}
			if tc.auth == v1alpha1.KafkaAuthenticationSCRAM && auth.User != tc.user {
				t.Errorf("SCRAM user %q, want %q", auth.User, tc.user)
			}
			if want := config.KafkaAuthentication(tc.auth); auth.Authentication != want && tc.auth != "" {
				t.Errorf("authentication %q, want %q", auth.Authentication, want)
			}
			cleanup()
			for field, path := range files {
				if _, err := os.Stat(path); path != "" && !os.IsNotExist(err) {
					t.Errorf("%s file %s is still there after cleanup", field, path)
				}
			}
		})
	}
}
