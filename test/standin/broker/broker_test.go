package broker_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/test/standin/broker"
	"github.com/recoflow/recoflow/test/standin/standintest"
)

const namespace, cluster = "recoflow", "events"

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestSecuredBrokerKeepsStrimzisCA starts the secured broker twice, as a restarted pod: it
// publishes the cluster CA in Strimzi's Secret, serves a certificate that CA signs for every name
// the bootstrap Service resolves by (and no other), and after the restart still uses the same CA and superuser password, so that mounted copies stay valid.
func TestSecuredBrokerKeepsStrimzisCA(t *testing.T) {
	api := standintest.StartAPIServer(t, "../../..", namespace)
	ctx := context.Background()
	port := freePort(t)
	opts := broker.Options{
		Advertise: cluster + "-kafka-bootstrap." + namespace + ".svc", Port: port,
		Secured: &broker.Secured{Client: api.Client, Namespace: namespace, Cluster: cluster},
	}
	secret := func(name, key string) string {
		t.Helper()
		var s corev1.Secret
		if err := api.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Data[key]) == 0 {
			t.Fatalf("secret %s has no %s", name, key)
		}
		return string(s.Data[key])
	}
	handshake := func(caPEM, serverName string) error {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM([]byte(caPEM))
		conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12})
		if err != nil {
			return err
		}
		return conn.Close()
	}

	first, err := broker.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	ca := secret(broker.ClusterCA.CertSecret(cluster), broker.KeyCACert)
	password := secret(broker.SuperuserSecret(cluster), "password")
	for _, name := range []string{
		"events-kafka-bootstrap", "events-kafka-bootstrap.recoflow", "events-kafka-bootstrap.recoflow.svc",
		"events-kafka-bootstrap.recoflow.svc.cluster.local", "localhost",
	} {
		if err := handshake(ca, name); err != nil {
			t.Errorf("TLS to %s with the published cluster CA: %v", name, err)
		}
	}
	if err := handshake(ca, "other-kafka-bootstrap.recoflow.svc"); err == nil {
		t.Error("the broker certificate is valid for other-kafka-bootstrap.recoflow.svc")
	}
	first.Close()

	second, err := broker.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := secret(broker.ClusterCA.CertSecret(cluster), broker.KeyCACert); got != ca {
		t.Error("the restarted broker published another cluster CA")
	}
	if got := secret(broker.SuperuserSecret(cluster), "password"); got != password {
		t.Error("the restarted broker changed the superuser's password")
	}
	if err := handshake(ca, "events-kafka-bootstrap.recoflow.svc.cluster.local"); err != nil {
		t.Errorf("the restarted broker's certificate against the first CA: %v", err)
	}
}
