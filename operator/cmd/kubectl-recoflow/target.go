package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafkaauth"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/clusterdial"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// kafkaTarget is a pipeline's Kafka cluster and topic names.
type kafkaTarget struct {
	client  sarama.Client
	brokers []string
	// auth is how the clients authenticate and encrypt.
	auth config.KafkaAuth
	// cleanup removes the files auth names; nil when there are none.
	cleanup func()
	// readerOptions are how the log readers connect: through dialer when there is one.
	readerOptions []kafka.ReaderOption
	// dialer reaches the brokers through the API server's port-forward; nil when they are
	// reached directly.
	dialer tunnel
	topics map[contract.TopicRole]string
	groups map[manifests.Role]string
}

// connectKafka connects to the Kafka of the pipeline named pipeline: at --kafka (or --local's)
// when given, where the local pipeline of `make run` (default topic and group names) is the
// one of an empty name; otherwise at the pipeline resource's bootstrap servers in the cluster,
// through the API server's port-forward.
func (g globals) connectKafka(ctx context.Context, pipeline string) (*kafkaTarget, error) {
	if g.kafka != "" {
		if g.kafkaUser != "" {
			return nil, fmt.Errorf("--kafka-user reads a KafkaUser's Secret in the cluster: use it without --kafka")
		}
		return connectKafka(g.kafka, pipeline, nil, config.KafkaAuth{})
	}
	cfg, ns, err := g.cluster()
	if err != nil {
		return nil, err
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	var p v1alpha1.RecommendationPipeline
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: pipeline}, &p); err != nil {
		return nil, fmt.Errorf("get pipeline %s/%s: %w", ns, pipeline, err)
	}
	return g.clusterKafka(ctx, cfg, c, &p)
}

// clusterKafka connects to the Kafka of pipeline p through port-forwards that the API server of
// cfg opens to the bootstrap Service and to each broker the brokers advertise, as --kafka-user
// when p's Kafka authenticates. The bootstrap servers are the ones the operator gives the
// functions.
func (g globals) clusterKafka(ctx context.Context, cfg *rest.Config, c client.Reader, p *v1alpha1.RecommendationPipeline) (*kafkaTarget, error) {
	auth, cleanup, err := kafkaCredentials(ctx, c, p, g.kafkaUser)
	if err != nil {
		return nil, err
	}
	dialer, err := clusterdial.New(cfg, p.Namespace)
	if err != nil {
		cleanup()
		return nil, err
	}
	t, err := connectKafka(manifests.Params{Pipeline: p}.BootstrapServers(), p.Name, dialer, auth)
	if err != nil {
		_ = dialer.Close()
		cleanup()
		return nil, err
	}
	t.cleanup = cleanup
	return t, nil
}

// tunnel opens connections to addresses that cannot be dialed directly, such as the in-cluster
// names that brokers advertise; clusterdial.Dialer is the one through the API server.
type tunnel interface {
	// Dial has the shape of sarama's Net.Proxy.Dialer.
	Dial(network, address string) (net.Conn, error)
	// DialContext has the shape of franz-go's kgo.Dialer.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// Close ends the tunnel.
	Close() error
}

// connectKafka connects to brokers for the pipeline named pipeline, or for the local pipeline of
// `make run` when pipeline is empty, authenticated and encrypted as auth says; every connection,
// to brokers and to those they advertise, through dialer when it is not nil.
func connectKafka(brokers, pipeline string, dialer tunnel, auth config.KafkaAuth) (*kafkaTarget, error) {
	cfg := kafka.NewSaramaConfig("kubectl-recoflow")
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	if err := kafkaauth.Configure(cfg, auth); err != nil {
		return nil, err
	}
	t := &kafkaTarget{brokers: strings.Split(brokers, ","), auth: auth, dialer: dialer,
		topics: map[contract.TopicRole]string{}, groups: map[manifests.Role]string{}}
	if dialer != nil {
		cfg.Net.Proxy.Enable = true
		cfg.Net.Proxy.Dialer = dialer
		t.readerOptions = append(t.readerOptions, kafka.DialThrough(dialer.DialContext))
	}
	var err error
	if t.client, err = sarama.NewClient(t.brokers, cfg); err != nil {
		if why := kafkaauth.Diagnose(err, cfg); why != "" {
			return nil, fmt.Errorf("connect to Kafka at %s: %s: %w", brokers, why, err)
		}
		return nil, fmt.Errorf("connect to Kafka at %s: %w", brokers, err)
	}
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

// Close closes the Kafka client and the port-forwards, and removes the credentials' files.
func (t *kafkaTarget) Close() error {
	err := t.client.Close()
	if t.dialer != nil {
		err = errors.Join(err, t.dialer.Close())
	}
	if t.cleanup != nil {
		t.cleanup()
	}
	return err
}

// lag returns the consumer lag of role's group on its input topic: records not yet committed.
func (t *kafkaTarget) lag(ctx context.Context, role manifests.Role) (int64, error) {
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
	switch {
	case errors.Is(err, sarama.ErrGroupIDNotFound):
		// The group has never committed: everything is still to consume.
		committed = nil
	case err != nil:
		return 0, fmt.Errorf("read the offsets of group %s: %w", t.groups[role], err)
	}
	from := map[int32]int64{}
	for _, p := range partitions {
		from[p] = 0
		if committed == nil {
			continue
		}
		if b := committed.GetBlock(topic, p); b != nil && b.Offset >= 0 {
			from[p] = b.Offset
		}
	}
	// Count records, not offsets: clean and popularity write in transactions, whose markers take
	// offsets that no consumer is owed.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return t.countRecords(ctx, topic, from)
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
