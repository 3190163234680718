package manifests

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// TriggerAuthenticationGVK is the KEDA TriggerAuthentication kind.
var TriggerAuthenticationGVK = schema.GroupVersionKind{Group: "keda.sh", Version: "v1alpha1", Kind: "TriggerAuthentication"}

// lagScaled are the functions KEDA scales on their consumer lag, and so must reach Kafka: the
// consumers, clean and popularity scoring.
func lagScaled() []Role {
	var out []Role
	for _, r := range contract.Functions() {
		if r.Consumes() {
			out = append(out, r)
		}
	}
	return out
}

// TriggerAuthentications returns a KEDA TriggerAuthentication for each function scaled on its
// consumer lag (clean, popularity scoring), when KEDA scales the pipeline and Kafka needs TLS or
// credentials. Each gives KEDA's Kafka scaler the function's own credentials, from the Secret
// of its KafkaUser, and the CA, so KEDA reads the lag as the function and nothing more; the
// ScaledObject's trigger refers to it by name. The SCRAM user name, which Strimzi's Secret does
// not hold, comes from the function container's RECOFLOW_KAFKA_USER.
func TriggerAuthentications(p Params) []*unstructured.Unstructured {
	pl := p.Pipeline
	if p.Autoscaler != AutoscalerKEDA || !NeedsTriggerAuthentication(pl) {
		return nil
	}
	out := make([]*unstructured.Unstructured, 0, 2)
	for _, r := range lagScaled() {
		user := KafkaUserName(pl.Name, r)
		var secrets []any
		ref := func(parameter, secret, key string) {
			secrets = append(secrets, map[string]any{"parameter": parameter, "name": secret, "key": key})
		}
		spec := map[string]any{}
		switch pl.Spec.Kafka.Authentication {
		case v1alpha1.KafkaAuthenticationSCRAM:
			ref("password", user, contract.SecretKeyPassword)
			spec["env"] = []any{map[string]any{"parameter": "username", "name": contract.EnvKafkaUser, "containerName": string(r)}}
		case v1alpha1.KafkaAuthenticationTLS:
			ref("cert", user, contract.SecretKeyUserCert)
			ref("key", user, contract.SecretKeyUserKey)
		}
		if pl.Spec.Kafka.TLSEnabled() {
			ca := CASecret(pl)
			ref("ca", ca.Name, ca.Key)
		}
		spec["secretTargetRef"] = secrets
		u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
		u.SetGroupVersionKind(TriggerAuthenticationGVK)
		u.SetName(DeploymentName(pl.Name, r))
		u.SetNamespace(pl.Namespace)
		u.SetLabels(Labels(pl.Name, string(r)))
		out = append(out, u)
	}
	return out
}

// NeedsTriggerAuthentication reports whether KEDA's Kafka scaler needs credentials or a CA to
// read the pipeline's consumer lag, and so a TriggerAuthentication per lag-scaled function.
func NeedsTriggerAuthentication(pl *v1alpha1.RecommendationPipeline) bool {
	return pl.Spec.Kafka.Authenticates() || pl.Spec.Kafka.TLSEnabled()
}

// kafkaTriggerSecurity returns the Kafka trigger metadata that turns TLS and SASL on for KEDA's
// scaler, and the trigger's reference to its TriggerAuthentication; none for a plain listener
// without credentials.
func kafkaTriggerSecurity(pl *v1alpha1.RecommendationPipeline, r Role) (metadata map[string]any, authRef map[string]any) {
	if !NeedsTriggerAuthentication(pl) {
		return nil, nil
	}
	metadata = map[string]any{}
	if pl.Spec.Kafka.TLSEnabled() {
		metadata["tls"] = "enable"
	}
	if pl.Spec.Kafka.Authentication == v1alpha1.KafkaAuthenticationSCRAM {
		metadata["sasl"] = "scram_sha512"
	}
	return metadata, map[string]any{"name": DeploymentName(pl.Name, r)}
}
