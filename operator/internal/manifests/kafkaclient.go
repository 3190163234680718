package manifests

import (
	"path"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// Ports of Strimzi's conventional listeners, which the default bootstrap address uses: plain
// without TLS, tls with it.
const (
	StrimziPlainPort = 9092
	StrimziTLSPort   = 9093
)

// Where a function's container finds its Kafka credentials: the KafkaUser's Secret and the CA
// certificate, each mounted read-only with only the keys the function reads.
const (
	KafkaUserMountPath = "/var/run/secrets/recoflow/kafka-user"
	KafkaCAMountPath   = "/var/run/secrets/recoflow/kafka-ca"

	kafkaUserVolume = "kafka-user"
	kafkaCAVolume   = "kafka-ca"
)

// CASecret returns the Secret key holding the CA certificates that sign the brokers' certificates:
// spec.kafka.tls.caSecretRef, or Strimzi's cluster CA Secret <cluster>-cluster-ca-cert, key ca.crt.
func CASecret(pl *v1alpha1.RecommendationPipeline) v1alpha1.SecretKeyReference {
	if t := pl.Spec.Kafka.TLS; t != nil && t.CASecretRef != nil {
		ref := *t.CASecretRef
		if ref.Key == "" {
			ref.Key = v1alpha1.DefaultCAKey
		}
		return ref
	}
	return v1alpha1.SecretKeyReference{Name: pl.Spec.Kafka.ClusterRef.Name + "-cluster-ca-cert", Key: contract.SecretKeyCACert}
}

// userSecretKeys returns the keys of a KafkaUser's Secret a function reads, by authentication.
func userSecretKeys(a v1alpha1.KafkaAuthentication) []string {
	switch a {
	case v1alpha1.KafkaAuthenticationSCRAM:
		return []string{contract.SecretKeyPassword}
	case v1alpha1.KafkaAuthenticationTLS:
		return []string{contract.SecretKeyUserCert, contract.SecretKeyUserKey}
	}
	return nil
}

// kafkaClientEnv returns the variables that tell a function how to authenticate to Kafka and
// encrypt the connection, pointing at the files kafkaClientVolumes mounts. None without TLS and
// authentication.
func kafkaClientEnv(p Params, r Role) []corev1.EnvVar {
	k := p.Pipeline.Spec.Kafka
	var vars []corev1.EnvVar
	add := func(name, value string) { vars = append(vars, corev1.EnvVar{Name: name, Value: value}) }
	if k.Authenticates() {
		add(contract.EnvKafkaAuthentication, string(k.Authentication))
	}
	switch k.Authentication {
	case v1alpha1.KafkaAuthenticationSCRAM:
		add(contract.EnvKafkaUser, KafkaUserName(p.Pipeline.Name, r))
		add(contract.EnvKafkaPasswordFile, path.Join(KafkaUserMountPath, contract.SecretKeyPassword))
	case v1alpha1.KafkaAuthenticationTLS:
		add(contract.EnvKafkaCertFile, path.Join(KafkaUserMountPath, contract.SecretKeyUserCert))
		add(contract.EnvKafkaKeyFile, path.Join(KafkaUserMountPath, contract.SecretKeyUserKey))
	}
	if k.TLSEnabled() {
		add(contract.EnvKafkaTLS, "true")
		add(contract.EnvKafkaCAFile, path.Join(KafkaCAMountPath, contract.SecretKeyCACert))
	}
	return vars
}

// kafkaClientVolumes returns the volumes of a function's pod that hold its Kafka credentials and
// the CA, and where its container mounts them. The operator never reads the Secrets: the kubelet
// mounts them, and the pod waits until Strimzi has written them.
func kafkaClientVolumes(p Params, r Role) ([]corev1.Volume, []corev1.VolumeMount) {
	pl := p.Pipeline
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	secret := func(volume, secretName, mountPath string, items []corev1.KeyToPath) {
		volumes = append(volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: secretName, Items: items, DefaultMode: ptr.To[int32](0o444)},
		}})
		mounts = append(mounts, corev1.VolumeMount{Name: volume, MountPath: mountPath, ReadOnly: true})
	}
	if keys := userSecretKeys(pl.Spec.Kafka.Authentication); len(keys) > 0 {
		items := make([]corev1.KeyToPath, len(keys))
		for i, k := range keys {
			items[i] = corev1.KeyToPath{Key: k, Path: k}
		}
		secret(kafkaUserVolume, KafkaUserName(pl.Name, r), KafkaUserMountPath, items)
	}
	if pl.Spec.Kafka.TLSEnabled() {
		ca := CASecret(pl)
		secret(kafkaCAVolume, ca.Name, KafkaCAMountPath, []corev1.KeyToPath{{Key: ca.Key, Path: contract.SecretKeyCACert}})
	}
	return volumes, mounts
}
