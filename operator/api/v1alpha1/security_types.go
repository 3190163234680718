package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KafkaAuthentication is how each function of a pipeline proves its identity to Kafka.
// +kubebuilder:validation:Enum=none;scram-sha-512;tls
type KafkaAuthentication string

// The Kafka authentication mechanisms, spelled as Strimzi's KafkaUser spells them.
const (
	// KafkaAuthenticationNone connects without credentials, to a listener with no authentication.
	KafkaAuthenticationNone KafkaAuthentication = "none"
	// KafkaAuthenticationSCRAM authenticates with SASL SCRAM-SHA-512: the User Operator writes
	// each KafkaUser's password to its Secret.
	KafkaAuthenticationSCRAM KafkaAuthentication = "scram-sha-512"
	// KafkaAuthenticationTLS authenticates with a client certificate (mutual TLS): the User
	// Operator writes each KafkaUser's certificate and key to its Secret.
	KafkaAuthenticationTLS KafkaAuthentication = "tls"
)

// KafkaTLS configures the encryption of the functions' connections to Kafka.
type KafkaTLS struct {
	// enabled turns TLS on or off. When unset, TLS is on exactly when authentication is not
	// none, as on Strimzi's tls listener.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// caSecretRef selects the key of a Secret in the pipeline's namespace holding the PEM CA
	// certificates that sign the brokers' certificates. When unset, Strimzi's cluster CA: Secret
	// <cluster>-cluster-ca-cert, key ca.crt.
	// +optional
	CASecretRef *SecretKeyReference `json:"caSecretRef,omitempty"`
}

// SecretKeyReference selects a key of a Secret in the pipeline's namespace.
type SecretKeyReference struct {
	// name is the name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// key is the key in the Secret's data.
	// +optional
	// +kubebuilder:default="ca.crt"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key,omitempty"`
}

// NetworkPolicySpec restricts the network traffic of a pipeline's functions.
type NetworkPolicySpec struct {
	// enabled creates a NetworkPolicy per function: ingest and popularity accept HTTP from the
	// client namespaces, clean accepts only metrics scrapes, and every function may reach only
	// Kafka and DNS.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// clientNamespaceSelector selects the namespaces whose pods may call ingest and popularity.
	// When unset, every namespace: any in-cluster client, and nothing from outside the cluster.
	// +optional
	ClientNamespaceSelector *metav1.LabelSelector `json:"clientNamespaceSelector,omitempty"`

	// metricsNamespaceSelector selects the namespaces whose pods may scrape the functions'
	// /metrics, the only traffic clean accepts. When unset, every namespace.
	// +optional
	MetricsNamespaceSelector *metav1.LabelSelector `json:"metricsNamespaceSelector,omitempty"`
}

// TLSEnabled reports whether the functions connect to Kafka over TLS: as tls.enabled says, or
// else whenever they authenticate.
func (k KafkaSpec) TLSEnabled() bool {
	if k.TLS != nil && k.TLS.Enabled != nil {
		return *k.TLS.Enabled
	}
	return k.Authenticates()
}

// Authenticates reports whether the functions authenticate to Kafka, each as its own KafkaUser.
func (k KafkaSpec) Authenticates() bool {
	return k.Authentication != "" && k.Authentication != KafkaAuthenticationNone
}

// IsEnabled reports whether the pipeline's NetworkPolicies are wanted; they are unless disabled.
func (n NetworkPolicySpec) IsEnabled() bool { return n.Enabled == nil || *n.Enabled }
