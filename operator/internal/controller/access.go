package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// kafkaAccess tells whether the functions have what they need to connect to Kafka: the CA
// Secret their pods mount for TLS, and for authentication their KafkaUsers, which Strimzi's
// User Operator reports Ready once it has made the user, its ACLs and its Secret. Secrets are
// looked up by metadata only: the operator never reads their data.
func (r *PipelineReconciler) kafkaAccess(ctx context.Context, p *v1alpha1.RecommendationPipeline, o outcome) metav1.Condition {
	k := p.Spec.Kafka
	if !k.Authenticates() && !k.TLSEnabled() {
		return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonKafkaAccessReady,
			Message: "The functions connect to Kafka without TLS or credentials."}
	}
	var problems []metav1.Condition
	missing := func(reason, format string, args ...any) {
		problems = append(problems, metav1.Condition{Status: metav1.ConditionFalse, Reason: reason, Message: fmt.Sprintf(format, args...)})
	}
	if k.TLSEnabled() {
		ca := manifests.CASecret(p)
		if err := r.secretExists(ctx, p.Namespace, ca.Name); err != nil {
			missing(v1alpha1.ReasonSecretNotFound, "Secret %s (the CA of the brokers' certificates, key %s): %v.", ca.Name, ca.Key, err)
		}
	}
	if k.Authenticates() {
		for _, role := range contract.Functions() {
			name := manifests.KafkaUserName(p.Name, role)
			live, _ := o.live[manifests.KafkaUserGVK.Kind+" "+name].(*unstructured.Unstructured)
			if msg, ready := kafkaUserReadiness(live); !ready {
				missing(v1alpha1.ReasonKafkaUserNotReady, "KafkaUser %s: %s.", name, msg)
				continue
			}
			if err := r.secretExists(ctx, p.Namespace, name); err != nil {
				missing(v1alpha1.ReasonSecretNotFound, "Secret %s of KafkaUser %s: %v.", name, name, err)
			}
		}
	}
	return summarize(problems, v1alpha1.ReasonKafkaAccessReady,
		fmt.Sprintf("Every function has its Kafka credentials (%s) and CA in place.", describeAccess(k)))
}

// describeAccess names how the functions connect to Kafka, for the status.
func describeAccess(k v1alpha1.KafkaSpec) string {
	parts := []string{}
	if k.Authenticates() {
		parts = append(parts, "a KafkaUser each, "+string(k.Authentication))
	}
	if k.TLSEnabled() {
		parts = append(parts, "TLS")
	}
	return strings.Join(parts, ", ")
}

// kafkaUserReadiness tells whether Strimzi's User Operator reports the KafkaUser live Ready for
// its current spec, and otherwise why not.
func kafkaUserReadiness(live *unstructured.Unstructured) (string, bool) {
	if live == nil {
		return "not created", false
	}
	observed, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration")
	if observed < live.GetGeneration() {
		return "waiting for Strimzi's User Operator to reconcile it", false
	}
	conditions, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if c["type"] != "Ready" {
			continue
		}
		if c["status"] == "True" {
			return "", true
		}
		if msg, _ := c["message"].(string); msg != "" {
			return strings.TrimSuffix(msg, "."), false
		}
	}
	return "waiting for Strimzi's User Operator to report it ready", false
}

// secretExists looks up the metadata of Secret name, and says why it is not there.
func (r *PipelineReconciler) secretExists(ctx context.Context, namespace, name string) error {
	secret := &metav1.PartialObjectMetadata{}
	secret.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	err := r.apiReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("does not exist in namespace %s", namespace)
	}
	return err
}
