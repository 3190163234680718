package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/twmb/franz-go/pkg/kfake"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/clusterdial/clusterdialtest"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// advertisedListener is a broker's listener that advertises an in-cluster name, as a Strimzi
// broker does.
type advertisedListener struct {
	net.Listener
	name string
}

func (l advertisedListener) Addr() net.Addr { return advertisedAddr(l.name) }

type advertisedAddr string

func (advertisedAddr) Network() string  { return "tcp" }
func (a advertisedAddr) String() string { return string(a) }

// TestDLQThroughTheAPIServer runs `kubectl recoflow dlq ls`, `dlq redrive` and `status` with
// nothing but a kubeconfig, as on a cluster: the pipeline, Services and EndpointSlices are in a
// real kube-apiserver, port-forwards go through the API server's and the kubelet's own handlers,
// and the broker, like Strimzi's, advertises an in-cluster name that no DNS here resolves. Only
// the kubelet's last hop, the pod's port, is played by the test.
func TestDLQThroughTheAPIServer(t *testing.T) {
	const (
		namespace, name = "shop", "likes"
		brokerPod       = "events-kafka-0"
		advertised      = brokerPod + ".events-kafka-brokers.shop.svc:9092"
	)
	p := &v1alpha1.RecommendationPipeline{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1alpha1.RecommendationPipelineSpec{Kafka: v1alpha1.KafkaSpec{ClusterRef: v1alpha1.ClusterReference{Name: "events"}}}}
	names := manifests.ACLNames(p)

	var brokerAddr string
	kc, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.SeedTopics(1, names.Topics.Raw, names.Topics.Clean, names.Topics.DeadLetter, names.Topics.Popularity),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if err != nil {
				return nil, err
			}
			brokerAddr = ln.Addr().String()
			return advertisedListener{Listener: ln, name: advertised}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	// A dead letter, as clean writes it, of a like from long ago.
	produceDeadLetter(t, &routedTunnel{routes: map[string]string{advertised: brokerAddr, "seed:9092": brokerAddr}}, names.Topics.Raw, names.Topics.DeadLetter)

	cfg, c, _ := startCluster(t, namespace)
	ctx := context.Background()
	endpoints := func(service string, hostname *string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{
			ObjectMeta:  metav1.ObjectMeta{Namespace: namespace, Name: service + "-x", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("tcp-clients"), Port: ptr.To[int32](9092)}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Hostname: hostname, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: namespace, Name: brokerPod}}},
		}
	}
	service := func(name, clusterIP string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: corev1.ServiceSpec{ClusterIP: clusterIP, Ports: []corev1.ServicePort{{Name: "tcp-clients", Port: 9092, TargetPort: intstr.FromInt32(9092)}}}}
	}
	for _, o := range []client.Object{
		p,
		service("events-kafka-bootstrap", ""), endpoints("events-kafka-bootstrap", nil),
		service("events-kafka-brokers", corev1.ClusterIPNone), endpoints("events-kafka-brokers", ptr.To(brokerPod)),
	} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}

	// The pod's port: the broker.
	front := clusterdialtest.NewAPIServer(t, cfg, func(pod string, port int32, conn io.ReadWriteCloser) error {
		defer conn.Close()
		if pod != brokerPod || port != 9092 {
			return fmt.Errorf("no port %d on pod %s", port, pod)
		}
		broker, err := net.Dial("tcp", brokerAddr)
		if err != nil {
			return err
		}
		defer broker.Close()
		go func() { _, _ = io.Copy(broker, conn) }()
		_, err = io.Copy(conn, broker)
		return err
	}, false)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	kubecfg := clientcmdapi.NewConfig()
	kubecfg.Clusters["front"] = &clientcmdapi.Cluster{Server: front.Config.Host}
	kubecfg.AuthInfos["me"] = &clientcmdapi.AuthInfo{}
	kubecfg.Contexts["front"] = &clientcmdapi.Context{Cluster: "front", AuthInfo: "me", Namespace: namespace}
	kubecfg.CurrentContext = "front"
	if err := clientcmd.WriteToFile(*kubecfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
	plugin := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"--kubeconfig", kubeconfig}, args...)
		if err := run(ctx, args, &out); err != nil {
			t.Fatalf("kubectl recoflow %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}

	if ls := plugin("dlq", "ls", name); !hasLine(ls, "too_old", "1") {
		t.Errorf("dlq ls through the API server:\n%s", ls)
	}
	if out := plugin("dlq", "redrive", name, "--reason", "too_old"); !strings.Contains(out, "1 dead letters with reason too_old: redrove 1; skipped 0 already redriven") {
		t.Errorf("dlq redrive through the API server:\n%s", out)
	}
	// No clean consumes the raw topic here: the redriven like is its lag.
	status := plugin("status", name)
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) >= 10 && f[0] == name && f[len(f)-2] != "1" {
			t.Errorf("status shows clean's lag %s, want the 1 redriven like:\n%s", f[len(f)-2], status)
		}
	}
	if !strings.Contains(status, name+" ") {
		t.Errorf("status has no line for %s:\n%s", name, status)
	}
	if front.Forwards(brokerPod, true) == 0 {
		t.Error("no port-forward to the broker's pod went over WebSocket")
	}
}

// produceDeadLetter writes to dlq the dead letter clean makes of a like from long ago read from
// raw, through tunnel (whose seed:9092 leads to the broker).
func produceDeadLetter(t *testing.T, tunnel *routedTunnel, raw, dlq string) {
	t.Helper()
	e := like("old-1", "ulysses", time.Now().Add(-400*24*time.Hour))
	pm := &sarama.ProducerMessage{Topic: raw}
	if err := kafka_sarama.WriteProducerMessage(context.Background(), binding.ToMessage(&e), pm); err != nil {
		t.Fatal(err)
	}
	value, _ := pm.Value.Encode()
	original := &sarama.ConsumerMessage{Topic: raw, Value: value, Timestamp: time.Now()}
	for _, h := range pm.Headers {
		original.Headers = append(original.Headers, &sarama.RecordHeader{Key: h.Key, Value: h.Value})
	}
	cfg := kafka.NewSaramaConfig("portforward-test")
	cfg.Net.Proxy.Enable, cfg.Net.Proxy.Dialer = true, tunnel
	client, err := sarama.NewClient([]string{"seed:9092"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(kafka.DeadLetter(original, dlq, event.ReasonTooOld, "too old")); err != nil {
		t.Fatal(err)
	}
}
