// Package clusterdial opens TCP connections to in-cluster addresses from outside the cluster,
// through the API server's port-forward: what a client such as a Kafka client needs when the
// servers it talks to hand out in-cluster DNS names (Kafka brokers advertise theirs) that only
// resolve inside the cluster.
//
// A Dialer maps each address it is asked for to a pod and port (Resolver: a Service to a ready
// endpoint pod, a pod's hostname under a headless Service to that pod) and connects to it through
// one port-forward per pod and port, kept until the Dialer is closed. The caller needs get on
// services and pods, list on endpointslices and create on pods/portforward in the namespaces the
// addresses name.
package clusterdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/klog/v2"
	streamhttp "k8s.io/streaming/pkg/httpstream"
)

// setupTimeout bounds how long opening a port-forward may take.
const setupTimeout = 30 * time.Second

// Dialer connects to in-cluster addresses through the API server's port-forward. It is safe for
// concurrent use.
type Dialer struct {
	config   *rest.Config
	client   kubernetes.Interface
	resolver *Resolver
	// ctx ends every port-forward when the Dialer is closed.
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	forwarders map[Target]*forwarder
}

// New returns a dialer that reaches the cluster of config, completing a bare Service name with
// namespace.
func New(config *rest.Config, namespace string) (*Dialer, error) {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	// client-go's port-forward logs every broken connection; the Kafka clients report what
	// matters to them.
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), logr.Discard()))
	return &Dialer{config: config, client: client, resolver: NewResolver(client, namespace),
		ctx: ctx, cancel: cancel, forwarders: map[Target]*forwarder{}}, nil
}

// Dial connects to address as DialContext does, without a context of the caller's; it is the
// shape of golang.org/x/net/proxy.Dialer, which sarama's Net.Proxy.Dialer takes.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(d.ctx, setupTimeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext connects to the pod and port address leads to in the cluster (see
// Resolver.Resolve). network must be tcp.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil, fmt.Errorf("dial %s %s: only tcp goes through a port-forward", network, address)
	}
	target, err := d.resolver.Resolve(ctx, address)
	if err != nil {
		return nil, err
	}
	local, err := d.forward(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("dial %s (%s): %w", address, target, err)
	}
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", local)
	if err != nil {
		return nil, fmt.Errorf("dial %s (%s, forwarded at %s): %w", address, target, local, err)
	}
	return conn, nil
}

// Close ends every port-forward; connections open through them break, and the Dialer dials no
// more.
func (d *Dialer) Close() error {
	d.cancel()
	return nil
}

// forwarder is one port-forward to a pod's port, listening on a local port.
type forwarder struct {
	// ready is closed once local is set or err is.
	ready chan struct{}
	local string
	err   error
	// done is closed when the port-forward has ended.
	done chan struct{}
}

// forward returns the local address of the port-forward to target, opening it first if there is
// none or the one there was has ended.
func (d *Dialer) forward(ctx context.Context, target Target) (string, error) {
	d.mu.Lock()
	f := d.forwarders[target]
	if f != nil {
		select {
		case <-f.done:
			f = nil
		default:
		}
	}
	if f == nil {
		if err := d.ctx.Err(); err != nil {
			d.mu.Unlock()
			return "", fmt.Errorf("the dialer is closed: %w", err)
		}
		f = &forwarder{ready: make(chan struct{}), done: make(chan struct{})}
		d.forwarders[target] = f
		go d.run(f, target)
	}
	d.mu.Unlock()
	select {
	case <-f.ready:
		return f.local, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// run opens the port-forward of f to target and serves it until the dialer is closed or the
// connection to the API server ends.
func (d *Dialer) run(f *forwarder, target Target) {
	defer close(f.done)
	var once sync.Once
	fail := func(err error) {
		once.Do(func() {
			f.err = err
			close(f.ready)
		})
	}
	dialer, err := d.streamDialer(target)
	if err != nil {
		fail(err)
		return
	}
	readyCh := make(chan struct{})
	pf, err := portforward.NewOnAddressesForStreamingWithContext(d.ctx, dialer, []string{"127.0.0.1"},
		[]string{"0:" + strconv.Itoa(int(target.Port))}, readyCh, io.Discard, io.Discard)
	if err != nil {
		fail(err)
		return
	}
	errCh := make(chan error, 1)
	go func() { errCh <- pf.ForwardPorts() }()
	select {
	case <-readyCh:
		ports, err := pf.GetPorts()
		if err != nil || len(ports) != 1 {
			fail(errors.Join(errors.New("the port-forward has no local port"), err))
			pf.Close()
			<-errCh
			return
		}
		once.Do(func() {
			f.local = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
			close(f.ready)
		})
		<-errCh
	case err := <-errCh:
		fail(fmt.Errorf("port-forward through the API server: %w", err))
	}
}

// streamDialer returns how to open the port-forward stream to target: over WebSocket, falling
// back to SPDY where the API server or a proxy in between does not upgrade to WebSocket, as
// kubectl port-forward does.
func (d *Dialer) streamDialer(target Target) (streamhttp.Dialer, error) {
	u := d.client.CoreV1().RESTClient().Post().Resource("pods").Namespace(target.Namespace).
		Name(target.Pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(d.config)
	if err != nil {
		return nil, err
	}
	spdyDialer := spdy.NewDialerForStreaming(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	websocketDialer, err := portforward.NewSPDYOverWebsocketDialerForStreamingWithLogger(klog.FromContext(d.ctx), u, d.config)
	if err != nil {
		return nil, err
	}
	return portforward.NewFallbackDialerForStreaming(websocketDialer, spdyDialer, func(err error) bool {
		return streamhttp.IsUpgradeFailure(err) || streamhttp.IsHTTPSProxyError(err)
	}), nil
}
