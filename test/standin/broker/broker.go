// Package broker is the e2e cluster's Kafka: one kfake broker, served the way Strimzi serves a
// Kafka cluster's listener. Plain, it is Strimzi's plain listener (port 9092, no TLS, no
// authentication). Secured, it is a tls listener with scram-sha-512 authentication and simple
// authorization: TLS with a broker certificate signed by the cluster CA, SASL SCRAM-SHA-512, ACLs
// enforced, and one superuser for the stand-in operators. Like Strimzi's cluster operator, a
// secured broker keeps its CAs in Secrets (<cluster>-cluster-ca and <cluster>-cluster-ca-cert,
// <cluster>-clients-ca and <cluster>-clients-ca-cert) and publishes the cluster CA's certificate
// as ca.crt, the key clients trust; a restarted broker reuses them. Test-only; see package standin.
package broker

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/pki"
)

// SCRAMSHA512 is kfake's and Kafka's name of the one SASL mechanism a secured broker offers.
const SCRAMSHA512 = "SCRAM-SHA-512"

// Keys of Strimzi's CA Secrets: the certificate (also the key of a user's and the cluster CA's
// Secret that clients trust) and the private key.
const (
	KeyCACert = config.SecretKeyCACert
	KeyCAKey  = "ca.key"
)

// Strimzi's labels on the Secrets of a Kafka cluster.
const (
	clusterLabel = "strimzi.io/cluster"
	kindLabel    = "strimzi.io/kind"
)

// CA names one of a cluster's two certificate authorities, as Strimzi does: the cluster CA signs
// the brokers' certificates, the clients CA the certificates of tls KafkaUsers.
type CA string

// A Kafka cluster's CAs.
const (
	ClusterCA CA = "cluster-ca"
	ClientsCA CA = "clients-ca"
)

// CertSecret is the Secret holding the CA's certificate (key ca.crt): <cluster>-cluster-ca-cert,
// the Secret a secured pipeline mounts by default, or <cluster>-clients-ca-cert.
func (ca CA) CertSecret(cluster string) string { return cluster + "-" + string(ca) + "-cert" }

// KeySecret is the Secret holding the CA's private key (key ca.key): <cluster>-cluster-ca or
// <cluster>-clients-ca.
func (ca CA) KeySecret(cluster string) string { return cluster + "-" + string(ca) }

// Superuser is the SCRAM user of the stand-in operators, which ACLs do not restrict; its password
// is the key password of its Secret.
func Superuser(cluster string) string { return cluster + "-entity-operator" }

// SuperuserSecret is the Secret holding the superuser's password (key password).
func SuperuserSecret(cluster string) string { return Superuser(cluster) + "-scram" }

// Options configure a broker.
type Options struct {
	// Advertise is the host clients are sent back to (Strimzi's bootstrap Service,
	// <cluster>-kafka-bootstrap.<namespace>.svc); the broker then listens on every interface. Empty
	// listens on 127.0.0.1 and advertises that.
	Advertise string
	// Port is the listening port; 0 picks a free one (only without Advertise).
	Port int
	// Secured, when set, serves the secured listener instead of the plain one.
	Secured *Secured
}

// Secured says where a secured broker keeps its CAs and its superuser's password.
type Secured struct {
	// Client reads and creates the cluster's Secrets.
	Client client.Client
	// Namespace and Cluster name the Kafka cluster.
	Namespace, Cluster string
	// ClusterDomain completes Advertise in the broker certificate's names (default cluster.local).
	ClusterDomain string
}

// Start starts the broker. Close the returned cluster to stop it.
func Start(ctx context.Context, o Options) (*kfake.Cluster, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if o.Port != 0 {
		opts = append(opts, kfake.Ports(o.Port))
	}
	if o.Advertise != "" {
		if o.Port == 0 {
			return nil, errors.New("a broker that advertises a host needs its port")
		}
		// kfake listens on 127.0.0.1 and advertises its listener's address; listen on every
		// interface instead and report the advertised address.
		opts = append(opts, kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			ln, err := net.Listen(network, ":"+strconv.Itoa(o.Port))
			if err != nil {
				return nil, err
			}
			return advertisedListener{Listener: ln, addr: advertisedAddr(net.JoinHostPort(o.Advertise, strconv.Itoa(o.Port)))}, nil
		}))
	}
	if o.Secured != nil {
		secured, err := o.Secured.options(ctx, o.Advertise)
		if err != nil {
			return nil, err
		}
		opts = append(opts, secured...)
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	return cluster, nil
}

// options returns the kfake options of the secured listener: TLS with a certificate for
// advertise signed by the cluster CA (client certificates of the clients CA accepted), SASL
// SCRAM-SHA-512, ACLs, and the superuser.
func (s *Secured) options(ctx context.Context, advertise string) ([]kfake.Opt, error) {
	clusterCA, err := EnsureCA(ctx, s.Client, s.Namespace, s.Cluster, ClusterCA)
	if err != nil {
		return nil, err
	}
	clientsCA, err := EnsureCA(ctx, s.Client, s.Namespace, s.Cluster, ClientsCA)
	if err != nil {
		return nil, err
	}
	cert, err := clusterCA.IssueServer(s.names(advertise)...)
	if err != nil {
		return nil, err
	}
	password, err := s.ensureSuperuser(ctx)
	if err != nil {
		return nil, err
	}
	serverTLS := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		// Strimzi's tls listener accepts client certificates of the clients CA. kfake takes a
		// connection's principal from SASL only, so a certificate alone never authenticates.
		ClientAuth: tls.VerifyClientCertIfGiven,
		ClientCAs:  clientsCA.Pool(),
	}
	return []kfake.Opt{
		kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.EnableACLs(),
		kfake.Superuser(SCRAMSHA512, Superuser(s.Cluster), password),
	}, nil
}

// names returns the DNS names of the broker certificate: the advertised host and, for a Service
// name (<service>.<namespace>.svc), the other names it resolves by, as Strimzi's broker
// certificates list them.
func (s *Secured) names(advertise string) []string {
	if advertise == "" {
		return nil
	}
	names := []string{advertise}
	if service, ok := strings.CutSuffix(advertise, "."+s.Namespace+".svc"); ok {
		domain := s.ClusterDomain
		if domain == "" {
			domain = "cluster.local"
		}
		names = append(names, service, service+"."+s.Namespace, advertise+"."+domain)
	}
	return names
}

// ensureSuperuser returns the superuser's password from its Secret, creating both first.
func (s *Secured) ensureSuperuser(ctx context.Context) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	data, err := getOrCreate(ctx, s.Client, s.secret(SuperuserSecret(s.Cluster), map[string][]byte{config.SecretKeyPassword: []byte(hex.EncodeToString(b))}))
	if err != nil {
		return "", err
	}
	return string(data[config.SecretKeyPassword]), nil
}

func (s *Secured) secret(name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: name, Labels: map[string]string{clusterLabel: s.Cluster, kindLabel: "Kafka"}},
		Data:       data,
	}
}

// EnsureCA returns the cluster's CA from its two Secrets, first making it and creating them when
// they do not exist yet.
func EnsureCA(ctx context.Context, c client.Client, namespace, cluster string, which CA) (*pki.CA, error) {
	made, err := pki.NewCA(cluster + "-" + string(which))
	if err != nil {
		return nil, err
	}
	madeKey, err := made.KeyPEM()
	if err != nil {
		return nil, err
	}
	s := &Secured{Namespace: namespace, Cluster: cluster}
	// The key first: a certificate Secret without its key would be a CA nobody can sign with.
	key, err := getOrCreate(ctx, c, s.secret(which.KeySecret(cluster), map[string][]byte{KeyCAKey: madeKey, KeyCACert: made.PEM}))
	if err != nil {
		return nil, err
	}
	if _, err := getOrCreate(ctx, c, s.secret(which.CertSecret(cluster), map[string][]byte{KeyCACert: key[KeyCACert]})); err != nil {
		return nil, err
	}
	return pki.LoadCA(key[KeyCACert], key[KeyCAKey])
}

// LoadCA returns the cluster's CA from its key Secret, as EnsureCA made it.
func LoadCA(ctx context.Context, c client.Reader, namespace, cluster string, which CA) (*pki.CA, error) {
	var s corev1.Secret
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: which.KeySecret(cluster)}, &s); err != nil {
		return nil, fmt.Errorf("%s of Kafka %s: %w", which, cluster, err)
	}
	return pki.LoadCA(s.Data[KeyCACert], s.Data[KeyCAKey])
}

// getOrCreate returns the data of the Secret named like s, creating s when there is none.
func getOrCreate(ctx context.Context, c client.Client, s *corev1.Secret) (map[string][]byte, error) {
	var existing corev1.Secret
	err := c.Get(ctx, client.ObjectKeyFromObject(s), &existing)
	if err == nil {
		return existing.Data, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("secret %s: %w", s.Name, err)
	}
	if err := c.Create(ctx, s); apierrors.IsAlreadyExists(err) {
		// Another stand-in made it first: use theirs.
		return getOrCreate(ctx, c, s)
	} else if err != nil {
		return nil, fmt.Errorf("create secret %s: %w", s.Name, err)
	}
	return s.Data, nil
}

// advertisedListener is a listener whose Addr is the address clients should use.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

// Addr returns the advertised address.
func (l advertisedListener) Addr() net.Addr { return l.addr }

// advertisedAddr is a host:port address that need not resolve on this pod.
type advertisedAddr string

// Network returns "tcp".
func (advertisedAddr) Network() string { return "tcp" }

// String returns host:port.
func (a advertisedAddr) String() string { return string(a) }
