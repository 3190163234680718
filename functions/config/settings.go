package config

import (
	"errors"

	"fmt"
	"time"

	"github.com/recoflow/recoflow/functions/contract"
)

// Common holds the settings every function has.
type Common struct {
	// Brokers are the Kafka bootstrap servers.
	Brokers []string
	// Topics names the pipeline's topics.
	Topics Topics
	// HTTPAddr is where the function serves its API, health and metrics.
	HTTPAddr string
	// LogLevel is the lowest level logged: debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// ShutdownTimeout bounds a graceful shutdown after SIGTERM.
	ShutdownTimeout time.Duration
	// InstanceID identifies this replica (the pod name in Kubernetes); it names Kafka clients and
	// popularity's transactional producer.
	InstanceID string
	// KafkaAuth is how the function authenticates to Kafka and encrypts the connection.
	KafkaAuth KafkaAuth
}

// Topics names the Kafka topic of each role.
type Topics struct {
	Raw, Clean, DeadLetter, Popularity string
}

// Ingest holds the ingest function's settings.
type Ingest struct {
	Common
	// Source is the CloudEvent source of the events ingest makes from plain likes.
	Source string
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes int64
	// MaxBatchEvents is the most events one batch request may carry.
	MaxBatchEvents int
	// ProduceTimeout is how long a request waits for Kafka to acknowledge its events.
	ProduceTimeout time.Duration
	// AuthToken, when set, is the bearer token every request must present.
	AuthToken string
}

// Clean holds the clean function's settings.
type Clean struct {
	Common
	// Group is the consumer group on the raw topic.
	Group string
	// DedupeWindow is how long a (user, item, type) triple counts as a duplicate.
	DedupeWindow time.Duration
	// DedupeMaxKeys caps the keys remembered for de-duplication; the oldest are evicted first.
	DedupeMaxKeys int
	// MaxEventAge is the oldest event time accepted.
	MaxEventAge time.Duration
	// MaxFutureSkew is how far ahead of now an event time may be.
	MaxFutureSkew time.Duration
}

// Popularity holds the popularity function's settings.
type Popularity struct {
	Common
	// Group is the consumer group on the clean topic.
	Group string
	// HalfLife is the time after which an event's contribution to a score has halved.
	HalfLife time.Duration
	// Weights is each action's contribution to the score; rated events weigh rating - 3.
	Weights Weights
	// TopNMax is the largest n a top-N query may ask for.
	TopNMax int
	// FlushInterval is how often processed state and offsets are committed in one transaction.
	FlushInterval time.Duration
	// Mode is what this process does: contract.PopularityModeAll, contract.PopularityModeScoring or
	// contract.PopularityModeServing.
	Mode string
}

// DefaultCommon returns the shared defaults, for a broker on localhost.
func DefaultCommon() Common {
	return Common{
		Brokers: []string{"localhost:9092"},
		Topics: Topics{
			Raw:        contract.DefaultTopic(contract.TopicRaw),
			Clean:      contract.DefaultTopic(contract.TopicClean),
			DeadLetter: contract.DefaultTopic(contract.TopicDeadLetter),
			Popularity: contract.DefaultTopic(contract.TopicPopularity),
		},
		HTTPAddr:        ":8080",
		LogLevel:        "info",
		LogFormat:       "json",
		ShutdownTimeout: 25 * time.Second,
	}
}

// DefaultIngest returns ingest's defaults.
func DefaultIngest() Ingest {
	return Ingest{
		Common:         DefaultCommon(),
		Source:         "urn:recoflow:ingest",
		MaxBodyBytes:   1 << 20,
		MaxBatchEvents: 1000,
		ProduceTimeout: 5 * time.Second,
	}
}

// DefaultClean returns clean's defaults.
func DefaultClean() Clean {
	return Clean{
		Common:        DefaultCommon(),
		Group:         "recoflow-clean",
		DedupeWindow:  10 * time.Minute,
		DedupeMaxKeys: 1_000_000,
		MaxEventAge:   7 * 24 * time.Hour,
		MaxFutureSkew: 5 * time.Minute,
	}
}

// DefaultPopularity returns popularity's defaults.
func DefaultPopularity() Popularity {
	c := DefaultCommon()
	c.HTTPAddr = ":8081"
	return Popularity{
		Common:        c,
		Group:         "recoflow-popularity",
		HalfLife:      6 * time.Hour,
		Weights:       DefaultWeights(),
		TopNMax:       1000,
		FlushInterval: time.Second,
		Mode:          contract.PopularityModeAll,
	}
}

// RegisterFlags binds the shared settings to b.
func (c *Common) RegisterFlags(b *Binder) {
	b.StringList(&c.Brokers, "kafka-brokers", contract.EnvKafkaBrokers, "Kafka bootstrap servers, comma-separated")
	b.String(&c.Topics.Raw, "topic-raw", contract.EnvTopicRaw, "topic of raw interactions")
	b.String(&c.Topics.Clean, "topic-clean", contract.EnvTopicClean, "topic of clean interactions")
	b.String(&c.Topics.DeadLetter, "topic-dlq", contract.EnvTopicDeadLetter, "dead-letter topic")
	b.String(&c.Topics.Popularity, "topic-popularity", contract.EnvTopicPopularity, "compacted popularity topic")
	b.String(&c.HTTPAddr, "http-addr", contract.EnvHTTPAddr, "listen address for the API, /healthz, /readyz and /metrics")
	b.String(&c.LogLevel, "log-level", contract.EnvLogLevel, "lowest level logged: debug, info, warn or error")
	b.String(&c.LogFormat, "log-format", contract.EnvLogFormat, "log format: json or text")
	b.Duration(&c.ShutdownTimeout, "shutdown-timeout", contract.EnvShutdownTimeout, "how long a graceful shutdown may take")
	b.String(&c.InstanceID, "instance-id", contract.EnvInstanceID, "identity of this replica, e.g. the pod name (default: the host name)")
	c.KafkaAuth.RegisterFlags(b)
}

// RegisterFlags binds ingest's settings to b.
func (c *Ingest) RegisterFlags(b *Binder) {
	c.Common.RegisterFlags(b)
	b.String(&c.Source, "source", contract.EnvIngestSource, "CloudEvent source of events made from plain likes")
	b.Int64(&c.MaxBodyBytes, "max-body-bytes", contract.EnvIngestMaxBodyBytes, "largest request body accepted, in bytes")
	b.Int(&c.MaxBatchEvents, "max-batch-events", contract.EnvIngestMaxBatchEvents, "most events in one batch request")
	b.Duration(&c.ProduceTimeout, "produce-timeout", contract.EnvIngestProduceTimeout, "how long a request waits for Kafka's acknowledgement before 503")
	b.String(&c.AuthToken, "auth-token", contract.EnvIngestAuthToken, "bearer token every request must carry (default: none required)")
}

// RegisterFlags binds clean's settings to b.
func (c *Clean) RegisterFlags(b *Binder) {
	c.Common.RegisterFlags(b)
	b.String(&c.Group, "consumer-group", contract.EnvConsumerGroup, "consumer group on the raw topic")
	b.Duration(&c.DedupeWindow, "dedupe-window", contract.EnvCleanDedupeWindow, "window in which a repeated (user, item, type) is a duplicate")
	b.Int(&c.DedupeMaxKeys, "dedupe-max-keys", contract.EnvCleanDedupeMaxKeys, "keys remembered for de-duplication; the oldest are evicted first")
	b.Duration(&c.MaxEventAge, "max-event-age", contract.EnvCleanMaxEventAge, "oldest event time accepted")
	b.Duration(&c.MaxFutureSkew, "max-future-skew", contract.EnvCleanMaxFutureSkew, "furthest an event time may be ahead of now")
}

// RegisterFlags binds popularity's settings to b.
func (c *Popularity) RegisterFlags(b *Binder) {
	c.Common.RegisterFlags(b)
	b.String(&c.Group, "consumer-group", contract.EnvConsumerGroup, "consumer group on the clean topic")
	b.Duration(&c.HalfLife, "half-life", contract.EnvPopularityHalfLife, "time after which an event's weight has halved")
	b.Var(&c.Weights, "weights", contract.EnvPopularityWeights, "action weights as action=weight,... (rated weighs rating-3)")
	b.Int(&c.TopNMax, "top-n-max", contract.EnvPopularityTopNMax, "largest n a top-N query may ask for")
	b.Duration(&c.FlushInterval, "flush-interval", contract.EnvPopularityFlushInterval, "how often state and offsets commit in one transaction")
	b.String(&c.Mode, "mode", contract.EnvPopularityMode, "what to run: all (score and serve), scoring (the consumer) or serving (the API)")
}

// Validate reports settings that cannot work.
func (c Common) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka-brokers: at least one broker is required"))
	}
	for name, topic := range map[string]string{"topic-raw": c.Topics.Raw, "topic-clean": c.Topics.Clean, "topic-dlq": c.Topics.DeadLetter, "topic-popularity": c.Topics.Popularity} {
		if topic == "" {
			errs = append(errs, fmt.Errorf("%s: a topic name is required", name))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown-timeout: must be positive"))
	}
	errs = append(errs, c.KafkaAuth.Validate())
	return errors.Join(errs...)
}

// Validate reports ingest settings that cannot work.
func (c Ingest) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("max-body-bytes: must be positive"))
	}
	if c.MaxBatchEvents <= 0 {
		errs = append(errs, errors.New("max-batch-events: must be positive"))
	}
	if c.ProduceTimeout <= 0 {
		errs = append(errs, errors.New("produce-timeout: must be positive"))
	}
	if c.Source == "" {
		errs = append(errs, errors.New("source: must not be empty"))
	}
	return errors.Join(errs...)
}

// Validate reports clean settings that cannot work.
func (c Clean) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Group == "" {
		errs = append(errs, errors.New("consumer-group: must not be empty"))
	}
	if c.DedupeWindow <= 0 || c.MaxEventAge <= 0 || c.MaxFutureSkew < 0 {
		errs = append(errs, errors.New("dedupe-window and max-event-age must be positive, max-future-skew not negative"))
	}
	if c.DedupeMaxKeys <= 0 {
		errs = append(errs, errors.New("dedupe-max-keys: must be positive"))
	}
	return errors.Join(errs...)
}

// Validate reports popularity settings that cannot work.
func (c Popularity) Validate() error {
	errs := []error{c.Common.Validate()}
	if c.Group == "" {
		errs = append(errs, errors.New("consumer-group: must not be empty"))
	}
	if c.HalfLife <= 0 || c.FlushInterval <= 0 {
		errs = append(errs, errors.New("half-life and flush-interval must be positive"))
	}
	if c.TopNMax <= 0 {
		errs = append(errs, errors.New("top-n-max: must be positive"))
	}
	errs = append(errs, validPopularityMode(c.Mode))
	return errors.Join(errs...)
}
