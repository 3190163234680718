package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// TestStatusReadsPipelinesFromTheCluster runs `kubectl recoflow status` with a kubeconfig
// against a real kube-apiserver holding a pipeline whose status the operator would have written:
// it shows readiness, freshness against the objective, replicas and every condition.
func TestStatusReadsPipelinesFromTheCluster(t *testing.T) {
	_, c, kubeconfig := startCluster(t, "shop")
	ctx := context.Background()
	p := &v1alpha1.RecommendationPipeline{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "likes"},
		Spec: v1alpha1.RecommendationPipelineSpec{Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}}}}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	set := func(typ, reason, message string) {
		meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: reason, Message: message})
	}
	set(v1alpha1.ConditionReady, v1alpha1.ReasonReconciled, "The pipeline is ready.")
	set(v1alpha1.ConditionFreshnessMet, v1alpha1.ReasonWithinObjective, "The 99th percentile of event time to served, 420ms over the last 1m0s, is within the objective of 2s.")
	p.Status.Freshness = &v1alpha1.FreshnessStatus{P99: "420ms", Objective: "2s"}
	for _, role := range contract.Functions() {
		p.Status.Functions = append(p.Status.Functions, v1alpha1.FunctionStatus{Name: manifests.DeploymentName(p.Name, role), DesiredReplicas: 2, ReadyReplicas: 1})
	}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"--kubeconfig", kubeconfig, "-n", "shop", "status"}, &out); err != nil {
		t.Fatalf("status: %v\n%s", err, out.String())
	}
	if !hasLine(out.String(), "likes", "True") {
		t.Errorf("no line for the pipeline:\n%s", out.String())
	}
	for _, want := range []string{"420ms", "2s", "1/2", "FreshnessMet", "WithinObjective", "Reconciled"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(ctx, []string{"--kubeconfig", kubeconfig, "-n", "shop", "status", "nothing"}, &out); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("status of an unknown pipeline: %v, want not found", err)
	}
}
