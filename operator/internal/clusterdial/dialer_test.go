package clusterdial

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/recoflow/recoflow/operator/internal/clusterdial/clusterdialtest"
)

// echoPods plays the pods' ports behind a kubelet's port-forward: every forwarded connection
// first receives "<pod>:<port>\n", then its own bytes back.
func echoPods(pod string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if _, err := fmt.Fprintf(stream, "%s:%d\n", pod, port); err != nil {
		return err
	}
	_, err := io.Copy(stream, stream)
	return err
}

// TestDialThroughPortForward dials the bootstrap Service and a broker's advertised name through a
// port-forward served by the API server's and the kubelet's own handlers: each connection reaches
// the pod and port Resolve names and carries bytes both ways; connections to one pod and port
// share one port-forward; the WebSocket tunnel is used where the API server offers it, SPDY
// where it does not; and a closed Dialer dials no more.
func TestDialThroughPortForward(t *testing.T) {
	upstream := startAPIServer(t)
	createKafkaLayout(t, kubernetes.NewForConfigOrDie(upstream))
	for _, tc := range []struct {
		name     string
		spdyOnly bool
	}{
		{name: "WebSocket tunnel"},
		{name: "SPDY fallback", spdyOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := clusterdialtest.NewAPIServer(t, upstream, echoPods, tc.spdyOnly)
			d, err := New(front.Config, kafkaNamespace)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, dial := range []struct{ address, reaches string }{
				{"events-kafka-bootstrap.kafka.svc.cluster.local:9092", "events-pool-1:19092"},
				{"events-pool-0.events-kafka-brokers.kafka.svc:9090", "events-pool-0:9090"},
				{"events-kafka-bootstrap.kafka:9092", "events-pool-1:19092"},
			} {
				conn, err := d.DialContext(ctx, "tcp", dial.address)
				if err != nil {
					t.Fatalf("dial %s: %v", dial.address, err)
				}
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(conn)
				if line, err := r.ReadString('\n'); err != nil || line != dial.reaches+"\n" {
					t.Errorf("dial %s reached %q (%v), want %s", dial.address, line, err, dial.reaches)
				}
				if _, err := io.WriteString(conn, "ping\n"); err != nil {
					t.Fatal(err)
				}
				if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
					t.Errorf("dial %s: echo %q (%v), want ping", dial.address, line, err)
				}
				conn.Close()
			}
			websocket := !tc.spdyOnly
			if n := front.Forwards("events-pool-1", websocket); n != 1 {
				t.Errorf("%d port-forwards to events-pool-1 (WebSocket %t), want one shared by both connections", n, websocket)
			}
			if n := front.Forwards("events-pool-0", websocket); n != 1 {
				t.Errorf("%d port-forwards to events-pool-0 (WebSocket %t), want 1", n, websocket)
			}

			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := d.DialContext(ctx, "tcp", "events-pool-0.events-kafka-brokers.kafka.svc:9091"); err == nil || !strings.Contains(err.Error(), "closed") {
				t.Errorf("dial after Close: %v, want an error saying the dialer is closed", err)
			}
		})
	}
}
