package clusterdial

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// startAPIServer starts a real kube-apiserver (envtest; `make envtest` builds it) and returns its
// config.
func startAPIServer(t *testing.T) *rest.Config {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		assets = "../../../bin/k8s"
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest (make envtest builds it): %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return cfg
}

// kafkaNamespace is where the test's Kafka lives: Services, EndpointSlices and Pods laid out as
// Strimzi lays out a cluster "events" with a node pool "pool", plus a StatefulSet-style pod.
const kafkaNamespace = "kafka"

// createKafkaLayout creates, in kafkaNamespace: the bootstrap Service, whose port 9092 targets
// the brokers' port 19092 and whose first endpoint is not ready; the brokers' headless Service,
// whose endpoints carry the brokers' hostnames; a Service with no endpoint; and a pod web-0 in
// the subdomain web that no EndpointSlice lists.
func createKafkaLayout(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kafkaNamespace}}, metav1.CreateOptions{}))
	service := func(name, clusterIP string, port int32) {
		must(c.CoreV1().Services(kafkaNamespace).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{ClusterIP: clusterIP, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{
				{Name: "tcp-clients", Port: port, TargetPort: intstr.FromString("clients")},
				{Name: "tcp-replication", Port: port + 1, TargetPort: intstr.FromInt32(port + 1)},
			}},
		}, metav1.CreateOptions{}))
	}
	type endpoint struct {
		pod, hostname string
		ready         bool
	}
	slice := func(service string, port int32, endpoints ...endpoint) {
		s := &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Name: service + "-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports: []discoveryv1.EndpointPort{
				{Name: ptr.To("tcp-replication"), Port: ptr.To(port + 1), Protocol: ptr.To(corev1.ProtocolTCP)},
				{Name: ptr.To("tcp-clients"), Port: ptr.To(port), Protocol: ptr.To(corev1.ProtocolTCP)},
			},
		}
		for i, e := range endpoints {
			ep := discoveryv1.Endpoint{
				Addresses:  []string{"10.0.0." + string(rune('1'+i))},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready)},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: kafkaNamespace, Name: e.pod},
			}
			if e.hostname != "" {
				ep.Hostname = ptr.To(e.hostname)
			}
			s.Endpoints = append(s.Endpoints, ep)
		}
		must(c.DiscoveryV1().EndpointSlices(kafkaNamespace).Create(ctx, s, metav1.CreateOptions{}))
	}
	service("events-kafka-bootstrap", "", 9092)
	slice("events-kafka-bootstrap", 19092, endpoint{pod: "events-pool-0"}, endpoint{pod: "events-pool-1", ready: true})
	service("events-kafka-brokers", corev1.ClusterIPNone, 9090)
	slice("events-kafka-brokers", 9090,
		endpoint{pod: "events-pool-0", hostname: "events-pool-0"}, endpoint{pod: "events-pool-1", hostname: "events-pool-1", ready: true})
	service("idle", "", 80)
	must(c.CoreV1().Pods(kafkaNamespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0"},
		Spec: corev1.PodSpec{Subdomain: "web", AutomountServiceAccountToken: ptr.To(false),
			Containers: []corev1.Container{{Name: "web", Image: "web"}}},
	}, metav1.CreateOptions{}))
}

// TestResolve maps the addresses Kafka clients dial, bootstrap Services and the brokers'
// advertised names, to pods and ports, from Services, EndpointSlices and Pods in a real API
// server; and says, for each address it cannot map, what it looked for.
func TestResolve(t *testing.T) {
	cfg := startAPIServer(t)
	c := kubernetes.NewForConfigOrDie(cfg)
	createKafkaLayout(t, c)
	r := NewResolver(c, kafkaNamespace)

	bootstrap := Target{Namespace: kafkaNamespace, Pod: "events-pool-1", Port: 19092}
	for _, tc := range []struct {
		address string
		want    Target
		// wantErr are fragments of the error; empty when the address maps.
		wantErr []string
	}{
		{address: "events-kafka-bootstrap.kafka.svc:9092", want: bootstrap},
		{address: "events-kafka-bootstrap.kafka.svc.cluster.local:9092", want: bootstrap},
		{address: "events-kafka-bootstrap.kafka.svc.corp.example.:9092", want: bootstrap},
		{address: "events-kafka-bootstrap.kafka:9092", want: bootstrap},
		{address: "events-kafka-bootstrap:9092", want: bootstrap},
		{address: "events-kafka-bootstrap.kafka.svc:9093", want: Target{Namespace: kafkaNamespace, Pod: "events-pool-1", Port: 19093}},
		{address: "events-pool-0.events-kafka-brokers.kafka.svc:9090", want: Target{Namespace: kafkaNamespace, Pod: "events-pool-0", Port: 9090}},
		{address: "events-pool-1.events-kafka-brokers.kafka.svc.cluster.local:9091", want: Target{Namespace: kafkaNamespace, Pod: "events-pool-1", Port: 9091}},
		{address: "events-kafka-brokers.kafka.svc:9999", want: Target{Namespace: kafkaNamespace, Pod: "events-pool-1", Port: 9999}},
		{address: "web-0.web.kafka.svc:8080", want: Target{Namespace: kafkaNamespace, Pod: "web-0", Port: 8080}},

		{address: "events-kafka-bootstrap.kafka.svc:9094", wantErr: []string{"Service kafka/events-kafka-bootstrap has no TCP port 9094"}},
		{address: "missing.kafka.svc:9092", wantErr: []string{"get Service kafka/missing", "not found"}},
		{address: "events-kafka-bootstrap.elsewhere.svc:9092", wantErr: []string{"get Service elsewhere/events-kafka-bootstrap"}},
		{address: "idle.kafka.svc:80", wantErr: []string{"Service kafka/idle has no ready endpoint pod for port 80"}},
		{address: "events-pool-7.events-kafka-brokers.kafka.svc:9090", wantErr: []string{
			"no endpoint with hostname events-pool-7 in the EndpointSlices of Service kafka/events-kafka-brokers", "no Pod kafka/events-pool-7"}},
		{address: "web-0.other.kafka.svc:8080", wantErr: []string{"Pod kafka/web-0 is not in its subdomain"}},
		{address: "10.0.0.1:9092", wantErr: []string{"10.0.0.1 is an IP address"}},
		{address: "kafka.example.com:9092", wantErr: []string{"kafka.example.com is no in-cluster name", "<service>.<namespace>.svc"}},
		{address: "localhost:9092", wantErr: []string{"localhost is no in-cluster name"}},
		{address: "events-kafka-bootstrap.kafka.svc", wantErr: []string{"want host:port"}},
		{address: "events-kafka-bootstrap.kafka.svc:clients", wantErr: []string{`port "clients" is no number`}},
	} {
		t.Run(tc.address, func(t *testing.T) {
			got, err := r.Resolve(context.Background(), tc.address)
			if len(tc.wantErr) == 0 {
				if err != nil || got != tc.want {
					t.Fatalf("Resolve = %v, %v; want %v", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve = %v, want an error", got)
			}
			for _, want := range append(tc.wantErr, tc.address) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}

	// The Dialer says the same before it opens any port-forward.
	d, err := New(cfg, kafkaNamespace)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Dial("tcp", "idle.kafka.svc:80"); err == nil || !strings.Contains(err.Error(), "no ready endpoint pod") {
		t.Errorf("Dial of a Service without endpoints: %v", err)
	}
	if _, err := d.Dial("udp", "events-kafka-bootstrap.kafka.svc:9092"); err == nil || !strings.Contains(err.Error(), "only tcp") {
		t.Errorf("Dial over udp: %v", err)
	}
}
