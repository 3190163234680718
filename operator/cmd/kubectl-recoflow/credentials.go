package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// kafkaCredentials reads through the API server what connecting to the Kafka of pipeline p takes,
// as its functions' pods have it mounted: the CA certificate when p's Kafka uses TLS and, when it
// authenticates, the credentials Strimzi wrote to the Secret of KafkaUser user. It writes them to
// files in a new directory only the current user can read, and returns how to connect and a
// cleanup that removes the directory. A pipeline whose Kafka takes plain connections needs none.
func kafkaCredentials(ctx context.Context, c client.Reader, p *v1alpha1.RecommendationPipeline, user string) (config.KafkaAuth, func(), error) {
	k := p.Spec.Kafka
	auth := config.KafkaAuth{Authentication: config.KafkaAuthentication(k.Authentication), TLS: k.TLSEnabled()}
	if !k.Authenticates() && !k.TLSEnabled() {
		return config.KafkaAuth{}, func() {}, nil
	}
	if k.Authenticates() && user == "" {
		return config.KafkaAuth{}, nil, fmt.Errorf("pipeline %s/%s authenticates to Kafka with %s: give --kafka-user, a KafkaUser "+
			"in namespace %s allowed %s (manifests/kafka/kafkauser-plugin.yaml shows one)",
			p.Namespace, p.Name, k.Authentication, p.Namespace, describeRules(kafkaacl.PluginRules(manifests.ACLNames(p))))
	}
	dir, err := os.MkdirTemp("", "kubectl-recoflow-")
	if err != nil {
		return config.KafkaAuth{}, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	// copyKey writes key of Secret name to a file of dir and returns its path.
	copyKey := func(name, key, what string) (string, error) {
		var s corev1.Secret
		if err := c.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: name}, &s); err != nil {
			return "", fmt.Errorf("read %s, Secret %s/%s: %w", what, p.Namespace, name, err)
		}
		data, ok := s.Data[key]
		if !ok || len(data) == 0 {
			return "", fmt.Errorf("read %s: Secret %s/%s has no key %s", what, p.Namespace, name, key)
		}
		path := filepath.Join(dir, name+"."+key)
		return path, os.WriteFile(path, data, 0o600)
	}
	if auth.TLS {
		ca := manifests.CASecret(p)
		if auth.CAFile, err = copyKey(ca.Name, ca.Key, "the CA certificate of the brokers"); err != nil {
			cleanup()
			return config.KafkaAuth{}, nil, err
		}
	}
	what := fmt.Sprintf("the credentials of KafkaUser %s (Strimzi's User Operator writes them once the KafkaUser is ready)", user)
	switch auth.Authentication {
	case config.KafkaAuthSCRAM:
		auth.User = user
		auth.PasswordFile, err = copyKey(user, contract.SecretKeyPassword, what)
	case config.KafkaAuthTLS:
		if auth.CertFile, err = copyKey(user, contract.SecretKeyUserCert, what); err == nil {
			auth.KeyFile, err = copyKey(user, contract.SecretKeyUserKey, what)
		}
	}
	if err != nil {
		cleanup()
		return config.KafkaAuth{}, nil, err
	}
	return auth, cleanup, nil
}

// describeRules says what rules allow, for a person.
func describeRules(rules []kafkaacl.Rule) string {
	var s string
	for i, r := range rules {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%v on %s %s", r.Operations, r.Type, r.Name)
	}
	return s
}
