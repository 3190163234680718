package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// Bounds of the wait before a blocked pipeline is looked at again. Watches on the Strimzi CRDs
// and Kafka clusters usually notice the fix first; the retry is for what they cannot see.
const (
	minRetry = 5 * time.Second
	maxRetry = 5 * time.Minute
)

// report writes the pipeline's status when it changed, records events for the transitions that
// matter, and says when to reconcile again.
func (r *PipelineReconciler) report(ctx context.Context, p *v1alpha1.RecommendationPipeline, pl plan, o outcome) (ctrl.Result, error) {
	before := p.DeepCopy()
	setStatus(p, pl, o)
	remeasure := r.reportFreshness(ctx, p)
	if !equality.Semantic.DeepEqual(before.Status, p.Status) {
		err := r.Client.Status().Patch(ctx, p, client.MergeFrom(before))
		if client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, errors.Join(o.err, fmt.Errorf("write status: %w", err))
		}
		r.recordTransitions(before, p)
	}
	if o.err != nil {
		return ctrl.Result{}, o.err
	}
	var res ctrl.Result
	if pl.blocked != nil {
		ready := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
		res.RequeueAfter = retryAfter(time.Since(ready.LastTransitionTime.Time))
	}
	if o.kafkaAccess.Reason == v1alpha1.ReasonSecretNotFound {
		// Secrets are not watched: look again until the missing one is there.
		access := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionKafkaAccessReady)
		res.RequeueAfter = sooner(res.RequeueAfter, retryAfter(time.Since(access.LastTransitionTime.Time)))
	}
	if pl.recheck {
		res.RequeueAfter = sooner(res.RequeueAfter, crdSettle)
	}
	res.RequeueAfter = sooner(res.RequeueAfter, remeasure)
	return res, nil
}

// retryAfter is how long a pipeline blocked for so long waits before it is looked at again: half
// the time it has been waiting, within [minRetry, maxRetry].
func retryAfter(blocked time.Duration) time.Duration {
	return min(max(blocked/2, minRetry), maxRetry)
}

// setStatus sets p's status from what this reconcile planned and found.
func setStatus(p *v1alpha1.RecommendationPipeline, pl plan, o outcome) {
	s := &p.Status
	s.ObservedGeneration = p.Generation
	set := func(typ string, status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&s.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: p.Generation,
		})
	}
	if b := pl.blocked; b != nil {
		set(v1alpha1.ConditionReady, metav1.ConditionFalse, b.reason, b.message)
		set(v1alpha1.ConditionTopicsReady, metav1.ConditionFalse, b.reason, b.message)
		unchecked := "Not checked while the topics cannot be made: " + b.message
		set(v1alpha1.ConditionFunctionsAvailable, metav1.ConditionUnknown, b.reason, unchecked)
		set(v1alpha1.ConditionScalingReady, metav1.ConditionUnknown, b.reason, unchecked)
		set(v1alpha1.ConditionKafkaAccessReady, metav1.ConditionUnknown, b.reason, unchecked)
		return
	}

	var topics, functions []metav1.Condition // one per child, in the plan's order
	s.Topics, s.Functions = nil, nil
	for _, d := range pl.desired {
		switch d.(type) {
		case *unstructured.Unstructured:
			if d.GetObjectKind().GroupVersionKind() != manifests.KafkaTopicGVK {
				continue
			}
			t := topicReadiness(d.GetName(), o.live[childKey(d)])
			topics = append(topics, t)
			ts := v1alpha1.TopicStatus{Name: d.GetName(), Ready: t.Status == metav1.ConditionTrue}
			if !ts.Ready {
				ts.Message = t.Message
			}
			s.Topics = append(s.Topics, ts)
		case *appsv1.Deployment:
			l, _ := o.live[childKey(d)].(*appsv1.Deployment)
			functions = append(functions, deploymentAvailability(d.GetName(), l))
			s.Functions = append(s.Functions, functionStatus(p, d.GetName(), l))
		}
	}
	s.Endpoints = pl.params.Endpoints()

	topicsReady := summarize(topics, v1alpha1.ReasonTopicsReady,
		fmt.Sprintf("Strimzi reports all %d topics ready.", len(topics)))
	functionsAvailable := summarize(functions, v1alpha1.ReasonAvailable,
		fmt.Sprintf("All %d functions are available.", len(functions)))
	if p.Spec.Suspend {
		functionsAvailable = metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSuspended,
			Message: "The pipeline is suspended: every function is scaled to zero."}
	}
	scaling := scalingReadiness(p, pl, o)
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, Message: "The pipeline is ready."}
	for _, c := range []metav1.Condition{topicsReady, o.kafkaAccess, functionsAvailable, scaling} {
		if c.Status != metav1.ConditionTrue {
			ready = metav1.Condition{Status: metav1.ConditionFalse, Reason: c.Reason, Message: c.Message}
			break
		}
	}
	if o.err != nil {
		ready = metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonApplyFailed, Message: o.err.Error()}
	}
	set(v1alpha1.ConditionReady, ready.Status, ready.Reason, ready.Message)
	set(v1alpha1.ConditionTopicsReady, topicsReady.Status, topicsReady.Reason, topicsReady.Message)
	set(v1alpha1.ConditionFunctionsAvailable, functionsAvailable.Status, functionsAvailable.Reason, functionsAvailable.Message)
	set(v1alpha1.ConditionScalingReady, scaling.Status, scaling.Reason, scaling.Message)
	set(v1alpha1.ConditionKafkaAccessReady, o.kafkaAccess.Status, o.kafkaAccess.Reason, o.kafkaAccess.Message)
}

// summarize folds the conditions of children into one: True with reason and message when every
// child is True, otherwise False with the reason of the first child that is not and the
// messages of all that are not.
func summarize(children []metav1.Condition, reason, message string) metav1.Condition {
	var notReady []string
	out := metav1.Condition{Status: metav1.ConditionTrue, Reason: reason, Message: message}
	for _, c := range children {
		if c.Status == metav1.ConditionTrue {
			continue
		}
		if len(notReady) == 0 {
			out.Status, out.Reason = metav1.ConditionFalse, c.Reason
		}
		notReady = append(notReady, c.Message)
	}
	if len(notReady) > 0 {
		out.Message = strings.Join(notReady, " ")
	}
	return out
}

// topicReadiness tells whether Strimzi reports the KafkaTopic live Ready for its current spec;
// when it reports it not Ready, the message names Strimzi's reason and message.
func topicReadiness(name string, live client.Object) metav1.Condition {
	notReady := childCondition(v1alpha1.ReasonTopicNotReady, "KafkaTopic", name)
	u, ok := live.(*unstructured.Unstructured)
	if !ok {
		return notReady("not created")
	}
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if observed < u.GetGeneration() {
		return notReady("waiting for Strimzi to reconcile it")
	}
	ready := foreignCondition(u, "Ready")
	switch {
	case ready == nil:
		return notReady("waiting for Strimzi to report it ready")
	case ready.Status == metav1.ConditionTrue:
		return metav1.Condition{Status: metav1.ConditionTrue}
	default:
		return notReady("Strimzi reports it not ready: " + ready.explain())
	}
}

// childCondition returns a function that makes a False condition with reason about the child
// kind name, saying msg.
func childCondition(reason, kind, name string) func(msg string) metav1.Condition {
	return func(msg string) metav1.Condition {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: reason, Message: fmt.Sprintf("%s %s: %s.", kind, name, msg)}
	}
}

// foreignCondition returns the condition typ of another controller's object u, read from
// status.conditions, or nil when it has none.
func foreignCondition(u *unstructured.Unstructured, typ string) *observedCondition {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["type"] != typ {
			continue
		}
		str := func(key string) string { s, _ := c[key].(string); return s }
		return &observedCondition{Status: metav1.ConditionStatus(str("status")), Reason: str("reason"), Message: str("message")}
	}
	return nil
}

// observedCondition is a condition another controller reports on its object.
type observedCondition struct {
	Status          metav1.ConditionStatus
	Reason, Message string
}

// explain says why the condition is what it is, in the controller's words: "reason: message"
// without a final period.
func (c observedCondition) explain() string {
	parts := make([]string, 0, 2)
	for _, s := range []string{c.Reason, strings.TrimSuffix(strings.TrimSpace(c.Message), ".")} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, ": ")
}

// deploymentAvailability tells whether the Deployment live has rolled out its current spec to
// at least its minimum of available pods.
func deploymentAvailability(name string, live *appsv1.Deployment) metav1.Condition {
	progressing := childCondition(v1alpha1.ReasonDeploymentProgressing, "Deployment", name)
	if live == nil {
		return progressing("not created")
	}
	if live.Status.ObservedGeneration < live.Generation {
		return progressing("waiting for the deployment controller")
	}
	for _, c := range live.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse {
			return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeploymentUnavailable,
				Message: fmt.Sprintf("Deployment %s: %s.", name, strings.TrimSuffix(c.Message, "."))}
		}
	}
	for _, c := range live.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return metav1.Condition{Status: metav1.ConditionTrue}
		}
	}
	return progressing(fmt.Sprintf("%d of %d replicas ready", live.Status.ReadyReplicas, *live.Spec.Replicas))
}

// scalingReadiness tells whether the autoscaler the pipeline asks for is installed and, as KEDA or
// the HPA controller reports on each of its objects, able to scale.
func scalingReadiness(p *v1alpha1.RecommendationPipeline, pl plan, o outcome) metav1.Condition {
	if pl.kedaMissing {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonKEDANotInstalled,
			Message: "scaling.mode is KEDA but the cluster does not serve keda.sh/v1alpha1 ScaledObjects: install KEDA. Until then every function runs replicas.min."}
	}
	var ready metav1.Condition
	switch pl.params.Autoscaler {
	case manifests.AutoscalerKEDA:
		ready = metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonKEDAScaling,
			Message: "KEDA reports every ScaledObject ready: clean and popularity scoring scale on consumer lag, ingest and popularity serving on CPU."}
	case manifests.AutoscalerHPA:
		ready = metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonHPAScaling,
			Message: "Every HorizontalPodAutoscaler is able to scale its function on CPU."}
	default:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonScalingDisabled,
			Message: "scaling.mode is None: every function runs replicas.min."}
	}
	if p.Spec.Suspend {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSuspended,
			Message: "The pipeline is suspended: its autoscalers hold every function at zero."}
	}
	var autoscalers []metav1.Condition
	for _, d := range pl.desired {
		switch d := d.(type) {
		case *autoscalingv2.HorizontalPodAutoscaler:
			l, _ := o.live[childKey(d)].(*autoscalingv2.HorizontalPodAutoscaler)
			autoscalers = append(autoscalers, hpaReadiness(d.Name, l))
		case *unstructured.Unstructured:
			if d.GroupVersionKind() == manifests.ScaledObjectGVK {
				l, _ := o.live[childKey(d)].(*unstructured.Unstructured)
				autoscalers = append(autoscalers, scaledObjectReadiness(d.GetName(), l))
			}
		}
	}
	return summarize(autoscalers, ready.Reason, ready.Message)
}

// scaledObjectReadiness tells whether KEDA reports the ScaledObject live Ready.
func scaledObjectReadiness(name string, live *unstructured.Unstructured) metav1.Condition {
	notReady := childCondition(v1alpha1.ReasonAutoscalerNotReady, "ScaledObject", name)
	if live == nil {
		return notReady("not created")
	}
	switch ready := foreignCondition(live, "Ready"); {
	case ready == nil || ready.Status == metav1.ConditionUnknown:
		return notReady("waiting for KEDA to report it ready")
	case ready.Status != metav1.ConditionTrue:
		return notReady("KEDA reports it not ready: " + ready.explain())
	}
	return metav1.Condition{Status: metav1.ConditionTrue}
}

// hpaReadiness tells whether the HPA controller reports the HorizontalPodAutoscaler live able to
// scale and computing its metric.
func hpaReadiness(name string, live *autoscalingv2.HorizontalPodAutoscaler) metav1.Condition {
	notReady := childCondition(v1alpha1.ReasonAutoscalerNotReady, "HorizontalPodAutoscaler", name)
	if live == nil {
		return notReady("not created")
	}
	for _, typ := range []autoscalingv2.HorizontalPodAutoscalerConditionType{autoscalingv2.AbleToScale, autoscalingv2.ScalingActive} {
		i := slices.IndexFunc(live.Status.Conditions, func(c autoscalingv2.HorizontalPodAutoscalerCondition) bool { return c.Type == typ })
		if i < 0 {
			return notReady("waiting for the HPA controller to report " + string(typ))
		}
		if c := live.Status.Conditions[i]; c.Status != corev1.ConditionTrue {
			why := observedCondition{Reason: c.Reason, Message: c.Message}.explain()
			return notReady(fmt.Sprintf("the HPA controller reports %s %s: %s", typ, c.Status, why))
		}
	}
	return metav1.Condition{Status: metav1.ConditionTrue}
}

// recordTransitions records an event when the pipeline's Ready condition changed status or
// reason, and a Warning event when any condition starts waiting for something only a person can
// fix, such as a missing operator.
func (r *PipelineReconciler) recordTransitions(before, after *v1alpha1.RecommendationPipeline) {
	warned := map[string]bool{}
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionTopicsReady,
		v1alpha1.ConditionFunctionsAvailable, v1alpha1.ConditionScalingReady, v1alpha1.ConditionKafkaAccessReady} {
		was := meta.FindStatusCondition(before.Status.Conditions, typ)
		now := meta.FindStatusCondition(after.Status.Conditions, typ)
		if now == nil || (was != nil && was.Status == now.Status && was.Reason == now.Reason) {
			continue
		}
		switch {
		case needsPerson(now.Reason) && !warned[now.Reason]:
			warned[now.Reason] = true
			r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, now.Reason, "Reconcile", "%s", now.Message)
		case typ == v1alpha1.ConditionReady && !needsPerson(now.Reason):
			r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, now.Reason, "Reconcile", "%s", now.Message)
		}
	}
}

// needsPerson reports whether a condition reason waits for something only a person can fix.
func needsPerson(reason string) bool {
	switch reason {
	case v1alpha1.ReasonStrimziNotInstalled, v1alpha1.ReasonKafkaClusterNotFound, v1alpha1.ReasonKEDANotInstalled,
		v1alpha1.ReasonApplyFailed, v1alpha1.ReasonDeploymentUnavailable, v1alpha1.ReasonSecretNotFound:
		return true
	}
	return false
}
