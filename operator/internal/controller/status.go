package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
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
			s.Topics = append(s.Topics, v1alpha1.TopicStatus{Name: d.GetName(), Ready: t.Status == metav1.ConditionTrue})
		case *appsv1.Deployment:
			l, _ := o.live[childKey(d)].(*appsv1.Deployment)
			functions = append(functions, deploymentAvailability(d.GetName(), l))
			s.Functions = append(s.Functions, functionStatus(p, d.GetName(), l))
		}
	}
	s.Endpoints = manifests.Endpoints(p)

	topicsReady := summarize(topics, v1alpha1.ReasonTopicsReady,
		fmt.Sprintf("Strimzi reports all %d topics ready.", len(topics)))
	functionsAvailable := summarize(functions, v1alpha1.ReasonAvailable,
		fmt.Sprintf("All %d functions are available.", len(functions)))
	if p.Spec.Suspend {
		functionsAvailable = metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonSuspended,
			Message: "The pipeline is suspended: every function is scaled to zero."}
	}
	scaling := scalingReadiness(pl)
	ready := metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled, Message: "The pipeline is ready."}
	for _, c := range []metav1.Condition{topicsReady, functionsAvailable, scaling} {
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

// topicReadiness tells whether Strimzi reports the KafkaTopic live Ready for its current spec.
func topicReadiness(name string, live client.Object) metav1.Condition {
	notReady := func(msg string) metav1.Condition {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonTopicNotReady,
			Message: fmt.Sprintf("KafkaTopic %s: %s.", name, msg)}
	}
	u, ok := live.(*unstructured.Unstructured)
	if !ok {
		return notReady("not created")
	}
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if observed < u.GetGeneration() {
		return notReady("waiting for Strimzi to reconcile it")
	}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["type"] != "Ready" {
			continue
		}
		if c["status"] == "True" {
			return metav1.Condition{Status: metav1.ConditionTrue}
		}
		if msg, _ := c["message"].(string); msg != "" {
			return notReady(strings.TrimSuffix(msg, "."))
		}
	}
	return notReady("waiting for Strimzi to report it ready")
}

// deploymentAvailability tells whether the Deployment live has rolled out its current spec to
// at least its minimum of available pods.
func deploymentAvailability(name string, live *appsv1.Deployment) metav1.Condition {
	progressing := func(msg string) metav1.Condition {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeploymentProgressing,
			Message: fmt.Sprintf("Deployment %s: %s.", name, msg)}
	}
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

// scalingReadiness tells whether the autoscaler the pipeline asks for is in place.
func scalingReadiness(pl plan) metav1.Condition {
	if pl.kedaMissing {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonKEDANotInstalled,
			Message: "scaling.mode is KEDA but the cluster does not serve keda.sh/v1alpha1 ScaledObjects: install KEDA. Until then every function runs replicas.min."}
	}
	switch pl.params.Autoscaler {
	case manifests.AutoscalerKEDA:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonKEDAScaling,
			Message: "KEDA ScaledObjects scale clean and popularity scoring on consumer lag, ingest and popularity serving on CPU."}
	case manifests.AutoscalerHPA:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonHPAScaling,
			Message: "HorizontalPodAutoscalers scale the functions on CPU."}
	default:
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonScalingDisabled,
			Message: "scaling.mode is None: every function runs replicas.min."}
	}
}

// recordTransitions records an event when the pipeline's Ready condition changed status or
// reason, and a Warning event when any condition starts waiting for something only a person can
// fix, such as a missing operator.
func (r *PipelineReconciler) recordTransitions(before, after *v1alpha1.RecommendationPipeline) {
	warned := map[string]bool{}
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionTopicsReady,
		v1alpha1.ConditionFunctionsAvailable, v1alpha1.ConditionScalingReady} {
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
		v1alpha1.ReasonApplyFailed, v1alpha1.ReasonDeploymentUnavailable:
		return true
	}
	return false
}
