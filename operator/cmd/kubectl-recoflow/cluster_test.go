package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/recoflow/recoflow/operator/api/v1alpha1"
)

// TestDLQSaysWhatItCannotReach runs `kubectl recoflow dlq ls` with only a kubeconfig against a
// real kube-apiserver (which has no kubelet, so no port-forward can succeed) and checks that what
// the user reads names the pipeline's bootstrap address and what stands in the way, as the Kafka
// it needs appears step by step: no Service, a Service without a ready pod, a pod the API server
// cannot forward to.
func TestDLQSaysWhatItCannotReach(t *testing.T) {
	_, c, kubeconfig := startCluster(t, "shop")
	ctx := context.Background()
	p := &v1alpha1.RecommendationPipeline{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "likes"},
		Spec: v1alpha1.RecommendationPipelineSpec{Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}}}}
	if err := c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	dlqLs := func(want ...string) {
		t.Helper()
		var out bytes.Buffer
		err := run(ctx, []string{"--kubeconfig", kubeconfig, "-n", "shop", "dlq", "ls", "likes"}, &out)
		if err == nil {
			t.Fatalf("dlq ls reached a Kafka that is not there:\n%s", out.String())
		}
		t.Logf("dlq ls: %v", err)
		for _, w := range append(want, "events-kafka-bootstrap.shop.svc.cluster.local:9092") {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("dlq ls: %v\nlacks %q", err, w)
			}
		}
	}

	dlqLs("get Service shop/events-kafka-bootstrap", "not found")

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "events-kafka-bootstrap"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "tcp-clients", Port: 9092, TargetPort: intstr.FromInt32(9092)}}}}
	if err := c.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	dlqLs("Service shop/events-kafka-bootstrap has no ready endpoint pod for port 9092")

	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "events-kafka-bootstrap-x", Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("tcp-clients"), Port: ptr.To[int32](9092)}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "events-kafka-0"}}},
	}
	if err := c.Create(ctx, slice); err != nil {
		t.Fatal(err)
	}
	dlqLs("pod shop/events-kafka-0 port 9092", "port-forward through the API server")
}
