package v1alpha1

// Condition types of a RecommendationPipeline.
const (
	// ConditionReady is True when the topics are ready, every function is available and scaling
	// is in place: the pipeline accepts and processes events.
	ConditionReady = "Ready"
	// ConditionTopicsReady is True when Strimzi reports every KafkaTopic Ready.
	ConditionTopicsReady = "TopicsReady"
	// ConditionFunctionsAvailable is True when every function's Deployment is available.
	ConditionFunctionsAvailable = "FunctionsAvailable"
	// ConditionScalingReady is True when the chosen autoscaler is installed and reports every one
	// of its objects able to scale: KEDA each ScaledObject Ready, the HPA controller each
	// HorizontalPodAutoscaler AbleToScale and ScalingActive.
	ConditionScalingReady = "ScalingReady"
	// ConditionFreshnessMet is True when the measured 99th percentile of the time from an event
	// until popularity serves it is within spec.popularity.freshnessObjective.
	ConditionFreshnessMet = "FreshnessMet"
)

// Condition reasons of a RecommendationPipeline. Reasons are CamelCase words a person and a
// script can both act on.
const (
	// ReasonReconciled says every child exists as desired and is ready.
	ReasonReconciled = "Reconciled"
	// ReasonAvailable says every function's Deployment has its minimum replicas available.
	ReasonAvailable = "Available"
	// ReasonSuspended says spec.suspend scaled every function to zero.
	ReasonSuspended = "Suspended"
	// ReasonReconciling says the operator is still creating or updating children.
	ReasonReconciling = "Reconciling"
	// ReasonApplyFailed says a child could not be created or updated; the message says which.
	ReasonApplyFailed = "ApplyFailed"

	// ReasonStrimziNotInstalled says the kafka.strimzi.io CRDs are not in the cluster.
	ReasonStrimziNotInstalled = "StrimziNotInstalled"
	// ReasonKafkaClusterNotFound says spec.kafka.clusterRef names no Kafka in the namespace.
	ReasonKafkaClusterNotFound = "KafkaClusterNotFound"
	// ReasonTopicNotReady says Strimzi has not (yet) reported a KafkaTopic Ready.
	ReasonTopicNotReady = "TopicNotReady"
	// ReasonTopicsReady says Strimzi reports every KafkaTopic Ready.
	ReasonTopicsReady = "TopicsReady"

	// ReasonDeploymentProgressing says a function's Deployment is rolling out or scaling up.
	ReasonDeploymentProgressing = "DeploymentProgressing"
	// ReasonDeploymentUnavailable says a function's Deployment failed to make progress.
	ReasonDeploymentUnavailable = "DeploymentUnavailable"

	// ReasonKEDANotInstalled says scaling.mode is KEDA but the keda.sh CRDs are not in the cluster.
	ReasonKEDANotInstalled = "KEDANotInstalled"
	// ReasonKEDAScaling says KEDA ScaledObjects scale the functions.
	ReasonKEDAScaling = "KEDAScaling"
	// ReasonHPAScaling says HorizontalPodAutoscalers scale the functions on CPU.
	ReasonHPAScaling = "HPAScaling"
	// ReasonAutoscalerNotReady says KEDA or the HPA controller has not (yet) reported an
	// autoscaler of the pipeline able to scale; the message says which, and why in their words.
	ReasonAutoscalerNotReady = "AutoscalerNotReady"
	// ReasonScalingDisabled says scaling.mode is None: every function runs replicas.min.
	ReasonScalingDisabled = "ScalingDisabled"

	// ReasonWithinObjective says the measured freshness is within the objective.
	ReasonWithinObjective = "WithinObjective"
	// ReasonObjectiveMissed says the measured freshness is above the objective.
	ReasonObjectiveMissed = "ObjectiveMissed"
	// ReasonNoRecentEvents says popularity served no new event in the last minute, so there is
	// nothing to measure.
	ReasonNoRecentEvents = "NoRecentEvents"
	// ReasonNotMeasured says the freshness could not be read from popularity; the message says why.
	ReasonNotMeasured = "NotMeasured"
)
