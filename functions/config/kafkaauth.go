package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/recoflow/recoflow/functions/contract"
)

// KafkaAuthentication is how a function proves its identity to Kafka.
type KafkaAuthentication string

// The Kafka authentication mechanisms, spelled as Strimzi's KafkaUser spells them.
const (
	// KafkaAuthNone connects without credentials.
	KafkaAuthNone KafkaAuthentication = "none"
	// KafkaAuthSCRAM authenticates with SASL SCRAM-SHA-512, a user name and a password.
	KafkaAuthSCRAM KafkaAuthentication = "scram-sha-512"
	// KafkaAuthTLS authenticates with a client certificate (mutual TLS).
	KafkaAuthTLS KafkaAuthentication = "tls"
)

// KafkaAuth is how a function authenticates to Kafka and encrypts the connection. Secrets are
// never settings themselves: the password and the private key are read from files, which on
// Kubernetes are the keys of a mounted Strimzi Secret (password; user.crt and user.key; the
// cluster CA's ca.crt).
type KafkaAuth struct {
	// Authentication is none, scram-sha-512 or tls.
	Authentication KafkaAuthentication
	// User is the SCRAM user name.
	User string
	// PasswordFile holds the SCRAM password; surrounding white space is ignored.
	PasswordFile string
	// TLS encrypts the connection and verifies the brokers' certificates.
	TLS bool
	// CAFile is a PEM bundle of the CAs that sign the brokers' certificates; empty trusts the
	// system's roots.
	CAFile string
	// CertFile and KeyFile are the PEM client certificate and key of mutual TLS.
	CertFile, KeyFile string
}

// RegisterFlags binds the Kafka authentication settings to b.
func (a *KafkaAuth) RegisterFlags(b *Binder) {
	b.Var((*authValue)(&a.Authentication), "kafka-authentication", contract.EnvKafkaAuthentication, "Kafka authentication: none, scram-sha-512 or tls")
	b.String(&a.User, "kafka-user", contract.EnvKafkaUser, "SCRAM user name")
	b.String(&a.PasswordFile, "kafka-password-file", contract.EnvKafkaPasswordFile, "file holding the SCRAM password")
	b.Var((*boolValue)(&a.TLS), "kafka-tls", contract.EnvKafkaTLS, "encrypt the Kafka connection with TLS (implied by kafka-authentication=tls)")
	b.String(&a.CAFile, "kafka-ca-file", contract.EnvKafkaCAFile, "PEM CA bundle that signs the brokers' certificates (default: the system's roots)")
	b.String(&a.CertFile, "kafka-cert-file", contract.EnvKafkaCertFile, "PEM client certificate for mutual TLS")
	b.String(&a.KeyFile, "kafka-key-file", contract.EnvKafkaKeyFile, "PEM private key of the client certificate")
}

// Validate reports settings that cannot work together. It does not read the files.
func (a KafkaAuth) Validate() error {
	var errs []error
	switch a.Authentication {
	case "", KafkaAuthNone:
	case KafkaAuthSCRAM:
		if a.User == "" || a.PasswordFile == "" {
			errs = append(errs, errors.New("kafka-authentication=scram-sha-512 needs kafka-user and kafka-password-file"))
		}
	case KafkaAuthTLS:
		if a.CertFile == "" || a.KeyFile == "" {
			errs = append(errs, errors.New("kafka-authentication=tls needs kafka-cert-file and kafka-key-file"))
		}
	}
	if a.Authentication != KafkaAuthTLS && (a.CertFile != "" || a.KeyFile != "") {
		errs = append(errs, errors.New("kafka-cert-file and kafka-key-file are only used with kafka-authentication=tls"))
	}
	if !a.UsesTLS() && a.CAFile != "" {
		errs = append(errs, errors.New("kafka-ca-file needs kafka-tls=true"))
	}
	return errors.Join(errs...)
}

// UsesTLS reports whether the connection is encrypted: asked for, or implied by mutual TLS.
func (a KafkaAuth) UsesTLS() bool { return a.TLS || a.Authentication == KafkaAuthTLS }

type authValue KafkaAuthentication

func (v *authValue) String() string { return string(*v) }
func (v *authValue) Set(s string) error {
	switch a := KafkaAuthentication(strings.ToLower(strings.TrimSpace(s))); a {
	case "", KafkaAuthNone, KafkaAuthSCRAM, KafkaAuthTLS:
		*v = authValue(a)
		return nil
	}
	return fmt.Errorf("%q: want none, scram-sha-512 or tls", s)
}

type boolValue bool

func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	*v = boolValue(b)
	return nil
}
