package broker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
)

// MountSecret writes every key of a Secret to a file of that name in dir, readable by the current
// user only, as the kubelet mounts a Secret volume: what a stand-in or a function run outside
// Kubernetes reads its credentials from.
func MountSecret(ctx context.Context, c client.Reader, namespace, name, dir string) error {
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for key, value := range s.Data {
		if err := os.WriteFile(filepath.Join(dir, key), value, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// SuperuserAuth mounts the superuser's Secret and the cluster CA's certificate under dir and
// returns how the stand-in operators connect to the secured broker with them, as its Deployment
// in the e2e cluster mounts them.
func SuperuserAuth(ctx context.Context, c client.Reader, namespace, cluster, dir string) (config.KafkaAuth, error) {
	users, cas := filepath.Join(dir, "superuser"), filepath.Join(dir, "cluster-ca")
	if err := MountSecret(ctx, c, namespace, SuperuserSecret(cluster), users); err != nil {
		return config.KafkaAuth{}, err
	}
	if err := MountSecret(ctx, c, namespace, ClusterCA.CertSecret(cluster), cas); err != nil {
		return config.KafkaAuth{}, err
	}
	return config.KafkaAuth{
		Authentication: config.KafkaAuthSCRAM, User: Superuser(cluster), PasswordFile: filepath.Join(users, config.SecretKeyPassword),
		TLS: true, CAFile: filepath.Join(cas, KeyCACert),
	}, nil
}
