package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/test/standin/broker"
)

// kafkaReconciler reports the Kafka cluster and its node pools as Strimzi's cluster operator does:
// Ready with the bootstrap listener once the broker answers, NotReady (Creating) until then.
type kafkaReconciler struct {
	client    client.Client
	broker    *broker.Admin
	bootstrap string
	// auth is how the stand-in connects: with TLS the listener is Strimzi's tls listener, and
	// its status carries the cluster CA's certificate.
	auth config.KafkaAuth
}

// Reconcile reports the Kafka's status and the status of the node pools labelled with its name.
func (r *kafkaReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	kafka := object(kafkaGVK)
	if err := r.client.Get(ctx, req.NamespacedName, kafka); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	var brokers int
	reachable := r.broker.Do(func(a sarama.ClusterAdmin) error {
		bs, _, err := a.DescribeCluster()
		brokers = len(bs)
		return err
	}) == nil

	pools := object(kafkaNodePoolGVK)
	list := &unstructured.UnstructuredList{Object: map[string]any{}}
	list.SetGroupVersionKind(pools.GroupVersionKind().GroupVersion().WithKind("KafkaNodePoolList"))
	if err := r.client.List(ctx, list, client.InNamespace(req.Namespace), client.MatchingLabels{clusterLabel: req.Name}); err != nil {
		return ctrl.Result{}, err
	}
	var poolStatuses []any
	for i := range list.Items {
		pool := &list.Items[i]
		replicas, _, _ := unstructured.NestedInt64(pool.Object, "spec", "replicas")
		roles, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "roles")
		nodeIDs := make([]any, 0, replicas)
		for id := range replicas {
			nodeIDs = append(nodeIDs, id)
		}
		status := map[string]any{
			"observedGeneration": pool.GetGeneration(),
			"clusterId":          "kfake",
			"replicas":           replicas,
			"nodeIds":            nodeIDs,
			"roles":              toAny(roles),
		}
		if err := setStatus(ctx, r.client, pool, status); err != nil {
			return ctrl.Result{}, err
		}
		poolStatuses = append(poolStatuses, map[string]any{"name": pool.GetName()})
	}

	ready := condition{Type: "NotReady", Status: "True", Reason: "Creating", Message: "Kafka cluster is being deployed"}
	if reachable {
		ready = condition{Type: "Ready", Status: "True"}
	}
	host, port, _ := net.SplitHostPort(r.bootstrap)
	portNumber, _ := strconv.Atoi(port)
	version, _, _ := unstructured.NestedString(kafka.Object, "spec", "kafka", "version")
	status := map[string]any{
		"observedGeneration": kafka.GetGeneration(),
		"conditions":         []any{ready.merge(kafka)},
		"clusterId":          "kfake",
		"kafkaVersion":       version,
		"kafkaNodePools":     poolStatuses,
		"listeners":          []any{r.listener(host, portNumber)},
	}
	if err := setStatus(ctx, r.client, kafka, status); err != nil {
		return ctrl.Result{}, err
	}
	slog.Debug("kafka status", "reachable", reachable, "brokers", brokers)
	if !reachable {
		return ctrl.Result{RequeueAfter: 2 * time.Second}, nil
	}
	// Strimzi reconciles periodically; notice a broker that went away.
	return ctrl.Result{RequeueAfter: 30 * time.Second}, nil
}

// listener returns the status of the broker's listener: Strimzi's plain listener, or its tls
// listener with the certificates clients trust.
func (r *kafkaReconciler) listener(host string, port int) map[string]any {
	listener := map[string]any{
		"name":             "plain",
		"bootstrapServers": r.bootstrap,
		"addresses":        []any{map[string]any{"host": host, "port": int64(port)}},
	}
	if r.auth.UsesTLS() {
		listener["name"] = "tls"
		if ca, err := os.ReadFile(r.auth.CAFile); err == nil {
			listener["certificates"] = []any{string(ca)}
		}
	}
	return listener
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// logrFromSlog routes controller-runtime's logs to slog.
func logrFromSlog() logr.Logger { return logr.FromSlogHandler(slog.Default().Handler()) }
