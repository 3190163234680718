package clusterdial

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	apimachineryproxy "k8s.io/apimachinery/pkg/util/proxy"
	apiserverproxy "k8s.io/apiserver/pkg/util/proxy"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubeletportforward "k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// echoPods plays the pods' ports behind a kubelet's port-forward: every forwarded connection
// first receives "<pod>:<port>\n", then its own bytes back.
type echoPods struct{}

func (echoPods) PortForward(_ context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	if _, err := fmt.Fprintf(stream, "%s:%d\n", pod, port); err != nil {
		return err
	}
	_, err := io.Copy(stream, stream)
	return err
}

// fakeAPIServer is an API server front: port-forward requests it proxies to a kubelet serving
// them with the kubelet's own port-forward handler (k8s.io/cri-streaming) over echoPods, through
// the API server's own WebSocket-to-SPDY tunneling handler unless spdyOnly, when it refuses
// WebSocket as an API server before Kubernetes 1.30 does; everything else it proxies to a real
// kube-apiserver.
type fakeAPIServer struct {
	spdyOnly bool
	mu       sync.Mutex
	// forwards counts the port-forward requests per pod and transport.
	forwards map[string]int
}

func (f *fakeAPIServer) start(t *testing.T, upstream *rest.Config) *rest.Config {
	t.Helper()
	transport, err := rest.TransportFor(upstream)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(upstream.Host)
	if err != nil {
		t.Fatal(err)
	}
	apiserver := httputil.NewSingleHostReverseProxy(u)
	apiserver.Transport = transport
	// The kubelet serves port-forwards over SPDY; the API server proxies them to it.
	kubelet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pod := r.URL.Query().Get("pod")
		kubeletportforward.ServePortForward(w, r, echoPods{}, pod, "", &kubeletportforward.V4Options{},
			time.Minute, 10*time.Second, kubeletportforward.SupportedProtocols)
	}))
	t.Cleanup(kubelet.Close)
	kubeletURL, _ := url.Parse(kubelet.URL)
	f.forwards = map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /api/v1/namespaces/<namespace>/pods/<pod>/portforward
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 7 || parts[6] != "portforward" {
			apiserver.ServeHTTP(w, r)
			return
		}
		pod := parts[5]
		websocket := wsstream.IsWebSocketRequest(r)
		if websocket && f.spdyOnly {
			http.Error(w, "this API server does not tunnel port-forwards over WebSocket", http.StatusBadRequest)
			return
		}
		kind := "spdy"
		if websocket {
			kind = "websocket"
		}
		f.mu.Lock()
		f.forwards[pod+" "+kind]++
		f.mu.Unlock()
		// The API server's own proxy to the kubelet.
		location := *kubeletURL
		location.Path, location.RawQuery = "/portforward", "pod="+pod
		toKubelet := apimachineryproxy.NewUpgradeAwareHandler(&location, nil, false, true, errorResponder{t})
		var h http.Handler = toKubelet
		if websocket {
			h = apiserverproxy.NewTunnelingHandler(toKubelet)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL}
}

// errorResponder fails the test with the errors of the API server's proxy to the kubelet.
type errorResponder struct{ t *testing.T }

func (e errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	e.t.Errorf("proxy to the kubelet: %v", err)
	http.Error(w, err.Error(), http.StatusBadGateway)
}

func (f *fakeAPIServer) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forwards[key]
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
		name      string
		spdyOnly  bool
		transport string
	}{
		{name: "WebSocket tunnel", transport: "websocket"},
		{name: "SPDY fallback", spdyOnly: true, transport: "spdy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			front := &fakeAPIServer{spdyOnly: tc.spdyOnly}
			d, err := New(front.start(t, upstream), kafkaNamespace)
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
			if n := front.count("events-pool-1 " + tc.transport); n != 1 {
				t.Errorf("%d %s port-forwards to events-pool-1, want one shared by both connections (all: %v)", n, tc.transport, front.forwards)
			}
			if n := front.count("events-pool-0 " + tc.transport); n != 1 {
				t.Errorf("%d %s port-forwards to events-pool-0, want 1 (all: %v)", n, tc.transport, front.forwards)
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
