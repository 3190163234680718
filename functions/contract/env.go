package contract

// The environment variables of the recoflow functions: package config reads them, the operator
// sets them on the function Deployments.

// Environment variables shared by every function.
const (
	EnvKafkaBrokers    = "RECOFLOW_KAFKA_BROKERS"    // comma-separated bootstrap servers
	EnvTopicRaw        = "RECOFLOW_TOPIC_RAW"        // raw interactions topic
	EnvTopicClean      = "RECOFLOW_TOPIC_CLEAN"      // clean interactions topic
	EnvTopicDeadLetter = "RECOFLOW_TOPIC_DLQ"        // dead-letter topic
	EnvTopicPopularity = "RECOFLOW_TOPIC_POPULARITY" // compacted popularity topic
	EnvHTTPAddr        = "RECOFLOW_HTTP_ADDR"        // listen address of the HTTP server
	EnvLogLevel        = "RECOFLOW_LOG_LEVEL"        // debug, info, warn or error
	EnvLogFormat       = "RECOFLOW_LOG_FORMAT"       // json or text
	EnvShutdownTimeout = "RECOFLOW_SHUTDOWN_TIMEOUT" // how long a graceful shutdown may take
	EnvConsumerGroup   = "RECOFLOW_CONSUMER_GROUP"   // consumer group of clean and popularity
	EnvInstanceID      = "RECOFLOW_INSTANCE_ID"      // stable replica identity (pod name)
)

// Environment variables of the ingest function.
const (
	EnvIngestSource         = "RECOFLOW_INGEST_SOURCE"           // CloudEvent source of events ingest makes
	EnvIngestMaxBodyBytes   = "RECOFLOW_INGEST_MAX_BODY_BYTES"   // largest accepted request body
	EnvIngestMaxBatchEvents = "RECOFLOW_INGEST_MAX_BATCH_EVENTS" // most events in one batch
	EnvIngestProduceTimeout = "RECOFLOW_INGEST_PRODUCE_TIMEOUT"  // how long to wait for Kafka's ack
	EnvIngestAuthToken      = "RECOFLOW_INGEST_AUTH_TOKEN"       // bearer token required when set
)

// Environment variables of the clean function.
const (
	EnvCleanDedupeWindow  = "RECOFLOW_CLEAN_DEDUPE_WINDOW"   // (user, item, type) de-duplication window
	EnvCleanDedupeMaxKeys = "RECOFLOW_CLEAN_DEDUPE_MAX_KEYS" // keys remembered before the oldest is evicted
	EnvCleanMaxEventAge   = "RECOFLOW_CLEAN_MAX_EVENT_AGE"   // oldest event time accepted
	EnvCleanMaxFutureSkew = "RECOFLOW_CLEAN_MAX_FUTURE_SKEW" // furthest event time ahead of now accepted
)

// Environment variables of the popularity function.
const (
	EnvPopularityHalfLife      = "RECOFLOW_POPULARITY_HALF_LIFE"      // score half-life
	EnvPopularityWeights       = "RECOFLOW_POPULARITY_WEIGHTS"        // action=weight,... (rated excluded)
	EnvPopularityTopNMax       = "RECOFLOW_POPULARITY_TOP_N_MAX"      // largest n a top-N query may ask for
	EnvPopularityFlushInterval = "RECOFLOW_POPULARITY_FLUSH_INTERVAL" // how often a transaction commits
	EnvPopularityMode          = "RECOFLOW_POPULARITY_MODE"           // all, scoring or serving
)

// Environment variables of every function's Kafka authentication and encryption. Secrets are
// never passed in variables: they are read from the files these name (a mounted Secret).
const (
	EnvKafkaAuthentication = "RECOFLOW_KAFKA_AUTHENTICATION" // none, scram-sha-512 or tls
	EnvKafkaUser           = "RECOFLOW_KAFKA_USER"           // SCRAM user name (the KafkaUser's name)
	EnvKafkaPasswordFile   = "RECOFLOW_KAFKA_PASSWORD_FILE"  // file holding the SCRAM password
	EnvKafkaTLS            = "RECOFLOW_KAFKA_TLS"            // true encrypts the connection with TLS
	EnvKafkaCAFile         = "RECOFLOW_KAFKA_CA_FILE"        // PEM CA bundle that signs the brokers' certificates
	EnvKafkaCertFile       = "RECOFLOW_KAFKA_CERT_FILE"      // PEM client certificate for mutual TLS
	EnvKafkaKeyFile        = "RECOFLOW_KAFKA_KEY_FILE"       // PEM private key of the client certificate
)

// Keys of the Secrets Strimzi writes, which the functions read as files of the same names: a
// SCRAM-SHA-512 KafkaUser's password, a TLS KafkaUser's certificate and key, and the cluster CA
// Secret's (<cluster>-cluster-ca-cert) certificate.
const (
	SecretKeyPassword = "password"
	SecretKeyUserCert = "user.crt"
	SecretKeyUserKey  = "user.key"
	SecretKeyCACert   = "ca.crt"
)

// The modes of the popularity function. On Kubernetes popularity runs as two Deployments of one
// image: scoring, which scales with the partitions and may scale to zero, and serving, which
// scales with read load; on a laptop one process runs both.
const (
	// PopularityModeAll scores and serves in one process, as `make run` does.
	PopularityModeAll = "all"
	// PopularityModeScoring runs only the consumer: clean topic in, exactly-once scores out to the
	// compacted popularity topic. It serves health and metrics but no API.
	PopularityModeScoring = "scoring"
	// PopularityModeServing runs only the view of the compacted popularity topic and the top-N
	// API over it. It joins no consumer group.
	PopularityModeServing = "serving"
)

// PopularityModes lists the popularity modes.
func PopularityModes() []string {
	return []string{PopularityModeAll, PopularityModeScoring, PopularityModeServing}
}
