// Package clusterdialtest serves port-forwards the way a cluster does, for tests that have a real
// kube-apiserver (envtest) but no kubelet: an API server front that proxies every request to the
// real one except port-forwards, which it hands, through the API server's own WebSocket tunneling
// handler and upgrade-aware proxy, to the kubelet's own port-forward handler over pods the test
// plays.
package clusterdialtest

import (
	"context"
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
	"k8s.io/client-go/rest"
	kubeletportforward "k8s.io/cri-streaming/pkg/streaming/portforward"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// Pods plays the pods' ports: Forward serves one connection forwarded to port of pod.
type Pods func(pod string, port int32, conn io.ReadWriteCloser) error

// PortForward implements the kubelet's PortForwarder.
func (p Pods) PortForward(_ context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	return p(pod, port, stream)
}

// APIServer is the front. Its Config reaches it without credentials.
type APIServer struct {
	Config *rest.Config

	// spdyOnly refuses WebSocket port-forwards, as API servers before Kubernetes 1.30 do.
	spdyOnly bool
	mu       sync.Mutex
	forwards map[string]int
}

// NewAPIServer starts a front of the API server of upstream whose port-forwards pods serves. With
// spdyOnly it refuses to tunnel port-forwards over WebSocket. It stops when the test ends.
func NewAPIServer(t testing.TB, upstream *rest.Config, pods Pods, spdyOnly bool) *APIServer {
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
		kubeletportforward.ServePortForward(w, r, pods, r.URL.Query().Get("pod"), "", &kubeletportforward.V4Options{},
			time.Minute, 10*time.Second, kubeletportforward.SupportedProtocols)
	}))
	t.Cleanup(kubelet.Close)
	kubeletURL, err := url.Parse(kubelet.URL)
	if err != nil {
		t.Fatal(err)
	}
	a := &APIServer{spdyOnly: spdyOnly, forwards: map[string]int{}}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /api/v1/namespaces/<namespace>/pods/<pod>/portforward
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 7 || parts[6] != "portforward" {
			apiserver.ServeHTTP(w, r)
			return
		}
		pod := parts[5]
		websocket := wsstream.IsWebSocketRequest(r)
		if websocket && a.spdyOnly {
			http.Error(w, "this API server does not tunnel port-forwards over WebSocket", http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.forwards[key(pod, websocket)]++
		a.mu.Unlock()
		location := *kubeletURL
		location.Path, location.RawQuery = "/portforward", "pod="+pod
		var h http.Handler = apimachineryproxy.NewUpgradeAwareHandler(&location, nil, false, true, errorResponder{t})
		if websocket {
			h = apiserverproxy.NewTunnelingHandler(h)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	a.Config = &rest.Config{Host: front.URL}
	return a
}

// Forwards returns how many port-forwards to pod the front has served, over WebSocket or SPDY.
func (a *APIServer) Forwards(pod string, websocket bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.forwards[key(pod, websocket)]
}

func key(pod string, websocket bool) string {
	if websocket {
		return pod + " websocket"
	}
	return pod + " spdy"
}

// errorResponder fails the test with the errors of the API server's proxy to the kubelet.
type errorResponder struct{ t testing.TB }

func (e errorResponder) Error(w http.ResponseWriter, _ *http.Request, err error) {
	e.t.Errorf("proxy to the kubelet: %v", err)
	http.Error(w, err.Error(), http.StatusBadGateway)
}
