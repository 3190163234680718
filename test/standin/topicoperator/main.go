// Command topicoperator stands in for the parts of Strimzi the e2e cluster needs besides the broker:
// the Topic Operator, which turns the KafkaTopics of one Kafka cluster into topics on its broker and
// reports them the way Strimzi does, and the cluster operator's status of that Kafka and its node
// pools. On a secured broker (-kafka-authentication=scram-sha-512, the superuser's password and
// the cluster CA mounted from their Secrets) it connects as the superuser and also plays the User
// Operator (package useroperator) for the cluster's KafkaUsers. Test-only; see package standin.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/test/standin/broker"
	"github.com/recoflow/recoflow/test/standin/useroperator"
)

// Strimzi's kinds, API version kafka.strimzi.io/v1.
var (
	kafkaTopicGVK    = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaTopic"}
	kafkaGVK         = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "Kafka"}
	kafkaNodePoolGVK = schema.GroupVersionKind{Group: "kafka.strimzi.io", Version: "v1", Kind: "KafkaNodePool"}
)

// clusterLabel names the Kafka cluster a KafkaTopic or KafkaNodePool belongs to.
const clusterLabel = "strimzi.io/cluster"

func main() {
	var o options
	flag.StringVar(&o.namespace, "namespace", "", "namespace of the Kafka cluster and its KafkaTopics and KafkaUsers")
	flag.StringVar(&o.cluster, "cluster", "", "name of the Kafka cluster")
	flag.StringVar(&o.bootstrap, "bootstrap", "", "bootstrap address of the broker (default <cluster>-kafka-bootstrap.<namespace>.svc:9092, or :9093 with TLS)")
	// The functions' own Kafka client flags and variables (-kafka-authentication, -kafka-user,
	// -kafka-password-file, -kafka-tls, -kafka-ca-file), reading the same Secret files.
	b := config.NewBinder(flag.CommandLine, os.LookupEnv)
	o.auth.RegisterFlags(b)
	if err := b.Parse(os.Args[1:]); err != nil {
		slog.Error("topic operator stand-in", "err", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		slog.Error("topic operator stand-in failed", "err", err)
		os.Exit(1)
	}
}

// options configure the stand-in.
type options struct {
	namespace, cluster, bootstrap string
	// auth is how it connects to the broker: as nobody to a plain one, as the superuser to a
	// secured one.
	auth config.KafkaAuth
}

func run(o options) error {
	if o.namespace == "" || o.cluster == "" {
		return fmt.Errorf("-namespace and -cluster are required")
	}
	if o.bootstrap == "" {
		port := 9092
		if o.auth.UsesTLS() {
			port = 9093
		}
		o.bootstrap = fmt.Sprintf("%s-kafka-bootstrap.%s.svc:%d", o.cluster, o.namespace, port)
	}
	log.SetLogger(logrFromSlog())
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{o.namespace: {}}},
		Metrics: server.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	admin := broker.NewAdmin(o.bootstrap, "strimzi-entity-operator-standin", o.auth)
	defer admin.Close()
	if err := setup(mgr, o, admin); err != nil {
		return err
	}
	slog.Info("entity operator stand-in running", "namespace", o.namespace, "cluster", o.cluster, "bootstrap", o.bootstrap,
		"authentication", o.auth.Authentication, "userOperator", o.auth.Authentication == config.KafkaAuthSCRAM)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// setup registers the stand-in's controllers with mgr: topics, the Kafka's status and, on a broker
// with SCRAM authentication, users.
func setup(mgr ctrl.Manager, o options, admin *broker.Admin) error {
	ofCluster := predicate.NewPredicateFuncs(func(obj client.Object) bool { return obj.GetLabels()[clusterLabel] == o.cluster })
	topics := &topicReconciler{client: mgr.GetClient(), broker: admin, cluster: o.cluster}
	if err := ctrl.NewControllerManagedBy(mgr).Named("kafkatopic").
		For(object(kafkaTopicGVK), builder.WithPredicates(ofCluster)).
		Complete(topics); err != nil {
		return fmt.Errorf("topic controller: %w", err)
	}
	kafka := &kafkaReconciler{client: mgr.GetClient(), broker: admin, bootstrap: o.bootstrap, auth: o.auth}
	isCluster := predicate.NewPredicateFuncs(func(obj client.Object) bool { return obj.GetName() == o.cluster })
	if err := ctrl.NewControllerManagedBy(mgr).Named("kafka").
		For(object(kafkaGVK), builder.WithPredicates(isCluster)).
		Complete(kafka); err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	if o.auth.Authentication != config.KafkaAuthSCRAM {
		return nil
	}
	users := &useroperator.Reconciler{Admin: admin, Cluster: o.cluster, Resync: 30 * time.Second}
	if err := users.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("user controller: %w", err)
	}
	return nil
}

// object returns an empty object of kind gvk.
func object(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}
