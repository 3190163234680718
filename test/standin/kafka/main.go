// Command kafka is the e2e cluster's Kafka: one kfake broker on every interface, which advertises
// itself under the address clients were given (Strimzi's <cluster>-kafka-bootstrap.<namespace>.svc),
// so that metadata responses send clients back through the Service. With
// -authentication=scram-sha-512 it serves Strimzi's secured listener instead of the plain one
// (see package broker) and keeps its CAs and superuser in Secrets of -namespace, through the
// pod's service account. Test-only; see package standin.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/test/standin/broker"
)

func main() {
	advertise := flag.String("advertise", "", "host the broker advertises, e.g. events-kafka-bootstrap.recoflow.svc")
	port := flag.Int("port", 9092, "port the broker listens on, on every interface")
	authentication := flag.String("authentication", string(config.KafkaAuthNone), "none (Strimzi's plain listener) or scram-sha-512 (its tls listener with SCRAM-SHA-512 and simple authorization)")
	namespace := flag.String("namespace", "", "namespace of the Kafka cluster's Secrets (with scram-sha-512)")
	cluster := flag.String("cluster", "", "name of the Kafka cluster (with scram-sha-512)")
	clusterDomain := flag.String("cluster-domain", "cluster.local", "DNS suffix of Services, for the broker certificate's names")
	flag.Parse()
	if err := run(*advertise, *port, config.KafkaAuthentication(*authentication), *namespace, *cluster, *clusterDomain); err != nil {
		slog.Error("kafka stand-in failed", "err", err)
		os.Exit(1)
	}
}

func run(advertise string, port int, authentication config.KafkaAuthentication, namespace, cluster, clusterDomain string) error {
	if advertise == "" {
		return fmt.Errorf("-advertise is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := broker.Options{Advertise: advertise, Port: port}
	switch authentication {
	case config.KafkaAuthNone:
	case config.KafkaAuthSCRAM:
		if namespace == "" || cluster == "" {
			return fmt.Errorf("-authentication=%s needs -namespace and -cluster", authentication)
		}
		c, err := kubeClient()
		if err != nil {
			return err
		}
		opts.Secured = &broker.Secured{Client: c, Namespace: namespace, Cluster: cluster, ClusterDomain: clusterDomain}
	default:
		return fmt.Errorf("-authentication=%s: want none or scram-sha-512", authentication)
	}
	kafka, err := broker.Start(ctx, opts)
	if err != nil {
		return err
	}
	slog.Info("kafka stand-in serving", "listen", port, "advertise", advertise, "authentication", authentication)
	<-ctx.Done()
	kafka.Close()
	return nil
}

// kubeClient returns a client of the cluster the pod runs in.
func kubeClient() (client.Client, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}
