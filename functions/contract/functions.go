package contract

// Function names one of the functions a pipeline runs. The operator names each function's
// Deployment, Service and KafkaUser <pipeline>-<function>, and gives each its own Kafka ACLs.
type Function string

// The functions.
const (
	FunctionIngest Function = "ingest"
	FunctionClean  Function = "clean"
	// FunctionPopularity is popularity's scoring tier: the consumer of the clean topic.
	FunctionPopularity Function = "popularity"
	// FunctionPopularityServing is popularity's serving tier: the top-N API over the changelog.
	FunctionPopularityServing Function = "popularity-serving"
)

// Functions returns every function, in the order events flow through them.
func Functions() []Function {
	return []Function{FunctionIngest, FunctionClean, FunctionPopularity, FunctionPopularityServing}
}

// Consumes reports whether the function is a Kafka consumer in a consumer group: clean and
// popularity scoring. A consumer never runs more replicas than partitions, scales on lag and may
// scale to zero.
func (f Function) Consumes() bool { return f == FunctionClean || f == FunctionPopularity }
