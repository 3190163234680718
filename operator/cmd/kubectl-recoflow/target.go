package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"k8s.io/client-go/rest"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// kafkaTarget is a pipeline's Kafka cluster and topic names.
type kafkaTarget struct {
	client  sarama.Client
	brokers []string
	topics  map[contract.TopicRole]string
	groups  map[manifests.Role]string
}

// connectKafka connects to brokers for the pipeline named pipeline, or for the local pipeline of
// `make run` (default topic and group names) when pipeline is empty.
func connectKafka(ctx context.Context, brokers, pipeline string) (*kafkaTarget, error) {
	if brokers == "" {
		return nil, fmt.Errorf("this command reads Kafka: give --kafka host:port (or --local for `make run`); " +
			"in a cluster run the plugin in a pod there, as the README's Operations section shows")
	}
	cfg := kafka.NewSaramaConfig("kubectl-recoflow")
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	client, err := sarama.NewClient(strings.Split(brokers, ","), cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Kafka at %s: %w", brokers, err)
	}
	t := &kafkaTarget{client: client, brokers: strings.Split(brokers, ","), topics: map[contract.TopicRole]string{}, groups: map[manifests.Role]string{}}
	for _, role := range contract.TopicRoles {
		t.topics[role] = contract.DefaultTopic(role)
		if pipeline != "" {
			t.topics[role] = manifests.TopicName(pipeline, role)
		}
	}
	for _, role := range []manifests.Role{contract.FunctionClean, contract.FunctionPopularity} {
		t.groups[role] = "recoflow-" + string(role)
		if pipeline != "" {
			t.groups[role] = manifests.ConsumerGroup(pipeline, role)
		}
	}
	return t, nil
}

// Close closes the Kafka client.
func (t *kafkaTarget) Close() error { return t.client.Close() }

// lag returns the consumer lag of role's group on its input topic: records not yet committed.
func (t *kafkaTarget) lag(role manifests.Role) (int64, error) {
	topic := t.topics[contract.TopicRaw]
	if role == contract.FunctionPopularity {
		topic = t.topics[contract.TopicClean]
	}
	admin, err := sarama.NewClusterAdminFromClient(t.client)
	if err != nil {
		return 0, err
	}
	// Closing admin would close the shared client.
	partitions, err := t.client.Partitions(topic)
	if err != nil {
		return 0, err
	}
	committed, err := admin.ListConsumerGroupOffsets(t.groups[role], map[string][]int32{topic: partitions})
	if err != nil {
		return 0, fmt.Errorf("read the offsets of group %s: %w", t.groups[role], err)
	}
	from := map[int32]int64{}
	for _, p := range partitions {
		from[p] = 0
		if b := committed.GetBlock(topic, p); b != nil && b.Offset >= 0 {
			from[p] = b.Offset
		}
	}
	// Count records, not offsets: clean and popularity write in transactions, whose markers take
	// offsets that no consumer is owed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return kafka.Backlog(ctx, t.brokers, config.KafkaAuth{}, "kubectl-recoflow-lag", topic, from)
}

// httpTarget reaches a pipeline's popularity function over HTTP.
type httpTarget struct {
	client *http.Client
	// popularity is the base URL of popularity's API.
	popularity string
}

// localHTTP reaches popularity at base directly.
func localHTTP(base string) *httpTarget {
	return &httpTarget{client: &http.Client{Timeout: 10 * time.Second}, popularity: strings.TrimSuffix(base, "/")}
}

// proxiedHTTP reaches the popularity Service of pipeline in namespace through the API server's
// service proxy, with the caller's own credentials (it needs get on services/proxy).
func proxiedHTTP(cfg *rest.Config, namespace, pipeline string) (*httpTarget, error) {
	c, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	c.Timeout = 10 * time.Second
	svc := manifests.DeploymentName(pipeline, contract.FunctionPopularity) + ":" + manifests.PortName
	return &httpTarget{client: c, popularity: strings.TrimSuffix(cfg.Host, "/") +
		"/api/v1/namespaces/" + namespace + "/services/" + svc + "/proxy"}, nil
}
