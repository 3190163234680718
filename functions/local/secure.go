package local

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafkaacl"
	"github.com/recoflow/recoflow/functions/pki"
)

// ClusterCADir is the directory of a secured local broker's secrets directory that holds the CA
// certificate. Each user's directory is named after the user. The files in them are named as the
// keys of the Secrets Strimzi writes (contract.SecretKeyCACert, SecretKeyPassword, ...).
const ClusterCADir = "cluster-ca-cert"

// AdminUser is the secured local broker's superuser, which only sets up topics.
const AdminUser = "admin"

// SecureBroker is an embedded broker that enforces what a production Strimzi cluster does: TLS
// with a CA made at start, authentication, and ACLs. Every function has its own user allowed
// exactly kafkaacl.Rules.
type SecureBroker struct {
	// Cluster is the running broker.
	Cluster *kfake.Cluster
	// Admin is how the superuser connects, to create topics.
	Admin config.KafkaAuth
	// Users is how each function connects, as its own user.
	Users map[contract.Function]config.KafkaAuth
	// CA signs the broker's certificate (and the client certificates of mutual TLS).
	CA *pki.CA
}

// SecureOptions configures a SecureBroker.
type SecureOptions struct {
	// Port is where the broker listens on 127.0.0.1; 0 picks a free port.
	Port int
	// DataDir keeps the broker's data; empty keeps it in memory.
	DataDir string
	// SecretsDir receives the CA certificate and every user's credentials, in Strimzi's Secret
	// layout (see ClusterCADir and the file names).
	SecretsDir string
	// Authentication is scram-sha-512 (the default) or tls. With scram-sha-512 the broker
	// enforces every user's ACLs. With tls it requires a client certificate signed by CA, but
	// the embedded broker cannot tell certificate users apart, so it enforces no ACLs.
	Authentication config.KafkaAuthentication
	// Pipeline names the topics and groups the users' ACLs refer to.
	Pipeline kafkaacl.Pipeline
}

// UserName returns the Kafka user of a function in a local pipeline: recoflow-<function>.
func UserName(fn contract.Function) string { return "recoflow-" + string(fn) }

// StartSecureBroker starts a SecureBroker and writes its CA and users' credentials to
// o.SecretsDir, readable by the current user only.
func StartSecureBroker(o SecureOptions) (*SecureBroker, error) {
	if o.Authentication == "" {
		o.Authentication = config.KafkaAuthSCRAM
	}
	ca, err := pki.NewCA("recoflow-local-cluster-ca")
	if err != nil {
		return nil, err
	}
	serverCert, err := ca.IssueServer()
	if err != nil {
		return nil, err
	}
	caFile := filepath.Join(o.SecretsDir, ClusterCADir, contract.SecretKeyCACert)
	if err := writeSecret(caFile, ca.PEM); err != nil {
		return nil, err
	}
	serverTLS := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{serverCert}}
	b := &SecureBroker{CA: ca, Users: make(map[contract.Function]config.KafkaAuth)}
	opts := []kfake.Opt{kfake.Ports(o.Port), kfake.TLS(serverTLS)}
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("kafka data directory: %w", err)
		}
		opts = append(opts, kfake.DataDir(o.DataDir))
	}

	switch o.Authentication {
	case config.KafkaAuthSCRAM:
		opts = append(opts, kfake.EnableSASL(), kfake.EnableACLs())
		user := func(name string) (config.KafkaAuth, string, error) {
			password, err := newPassword()
			if err != nil {
				return config.KafkaAuth{}, "", err
			}
			file := filepath.Join(o.SecretsDir, name, contract.SecretKeyPassword)
			auth := config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: name, PasswordFile: file, TLS: true, CAFile: caFile}
			return auth, password, writeSecret(file, []byte(password))
		}
		admin, password, err := user(AdminUser)
		if err != nil {
			return nil, err
		}
		b.Admin = admin
		opts = append(opts, kfake.Superuser(sarama512, AdminUser, password))
		for _, fn := range contract.Functions() {
			auth, password, err := user(UserName(fn))
			if err != nil {
				return nil, err
			}
			b.Users[fn] = auth
			opts = append(opts, kfake.User(sarama512, auth.User, password, ACLs(kafkaacl.Rules(fn, o.Pipeline))...))
		}
	case config.KafkaAuthTLS:
		serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
		serverTLS.ClientCAs = ca.Pool()
		user := func(name string) (config.KafkaAuth, error) {
			certPEM, keyPEM, err := ca.IssueClient(name)
			if err != nil {
				return config.KafkaAuth{}, err
			}
			dir := filepath.Join(o.SecretsDir, name)
			auth := config.KafkaAuth{
				Authentication: config.KafkaAuthTLS, TLS: true, CAFile: caFile,
				CertFile: filepath.Join(dir, contract.SecretKeyUserCert), KeyFile: filepath.Join(dir, contract.SecretKeyUserKey),
			}
			if err := writeSecret(auth.CertFile, certPEM); err != nil {
				return auth, err
			}
			return auth, writeSecret(auth.KeyFile, keyPEM)
		}
		if b.Admin, err = user(AdminUser); err != nil {
			return nil, err
		}
		for _, fn := range contract.Functions() {
			if b.Users[fn], err = user(UserName(fn)); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("secured broker: authentication %q: want scram-sha-512 or tls", o.Authentication)
	}

	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka on port %d: %w", o.Port, err)
	}
	b.Cluster = cluster
	return b, nil
}

// sarama512 is kfake's name of the SCRAM-SHA-512 mechanism.
const sarama512 = "SCRAM-SHA-512"

// ACLs returns the broker ACLs that allow what rules allow, one per operation.
func ACLs(rules []kafkaacl.Rule) []kfake.ACL {
	types := map[kafkaacl.ResourceType]kmsg.ACLResourceType{
		kafkaacl.Topic:           kmsg.ACLResourceTypeTopic,
		kafkaacl.Group:           kmsg.ACLResourceTypeGroup,
		kafkaacl.TransactionalID: kmsg.ACLResourceTypeTransactionalId,
	}
	patterns := map[kafkaacl.PatternType]kmsg.ACLResourcePatternType{
		kafkaacl.Literal: kmsg.ACLResourcePatternTypeLiteral,
		kafkaacl.Prefix:  kmsg.ACLResourcePatternTypePrefixed,
	}
	ops := map[kafkaacl.Operation]kmsg.ACLOperation{
		kafkaacl.Read:     kmsg.ACLOperationRead,
		kafkaacl.Write:    kmsg.ACLOperationWrite,
		kafkaacl.Describe: kmsg.ACLOperationDescribe,
	}
	var out []kfake.ACL
	for _, r := range rules {
		for _, op := range r.Operations {
			out = append(out, kfake.ACL{
				Resource: types[r.Type], Name: r.Name, Pattern: patterns[r.Pattern],
				Operation: ops[op], Allow: true,
			})
		}
	}
	return out
}

// newPassword returns 32 random hexadecimal characters, like the passwords Strimzi makes.
func newPassword() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeSecret writes data to path, readable by the current user only, creating its directory.
func writeSecret(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("secrets directory: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
