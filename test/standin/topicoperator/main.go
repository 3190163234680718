// Command topicoperator stands in for the parts of Strimzi the e2e cluster needs besides the broker:
// the Topic Operator, which turns the KafkaTopics of one Kafka cluster into topics on its broker and
// reports them the way Strimzi does, and the cluster operator's status of that Kafka and its node
// pools. Test-only; see package standin.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
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
	namespace := flag.String("namespace", "", "namespace of the Kafka cluster and its KafkaTopics")
	cluster := flag.String("cluster", "", "name of the Kafka cluster")
	bootstrap := flag.String("bootstrap", "", "bootstrap address of the broker (default <cluster>-kafka-bootstrap.<namespace>.svc:9092)")
	flag.Parse()
	if err := run(*namespace, *cluster, *bootstrap); err != nil {
		slog.Error("topic operator stand-in failed", "err", err)
		os.Exit(1)
	}
}

func run(namespace, cluster, bootstrap string) error {
	if namespace == "" || cluster == "" {
		return fmt.Errorf("-namespace and -cluster are required")
	}
	if bootstrap == "" {
		bootstrap = fmt.Sprintf("%s-kafka-bootstrap.%s.svc:9092", cluster, namespace)
	}
	log.SetLogger(logrFromSlog())
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Cache:   cache.Options{DefaultNamespaces: map[string]cache.Config{namespace: {}}},
		Metrics: server.Options{BindAddress: "0"},
	})
	if err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	broker := newBroker(bootstrap)
	defer broker.close()

	ofCluster := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetLabels()[clusterLabel] == cluster })
	topics := &topicReconciler{client: mgr.GetClient(), broker: broker, cluster: cluster}
	if err := ctrl.NewControllerManagedBy(mgr).Named("kafkatopic").
		For(object(kafkaTopicGVK), builder.WithPredicates(ofCluster)).
		Complete(topics); err != nil {
		return fmt.Errorf("topic controller: %w", err)
	}
	kafka := &kafkaReconciler{client: mgr.GetClient(), broker: broker, bootstrap: bootstrap}
	isCluster := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == cluster })
	if err := ctrl.NewControllerManagedBy(mgr).Named("kafka").
		For(object(kafkaGVK), builder.WithPredicates(isCluster)).
		Complete(kafka); err != nil {
		return fmt.Errorf("kafka controller: %w", err)
	}
	slog.Info("topic operator stand-in running", "namespace", namespace, "cluster", cluster, "bootstrap", bootstrap)
	return mgr.Start(ctrl.SetupSignalHandler())
}

// object returns an empty object of kind gvk.
func object(gvk schema.GroupVersionKind) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u
}
