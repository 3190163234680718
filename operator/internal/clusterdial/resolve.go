package clusterdial

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// Target is a pod's port: where an in-cluster address leads.
type Target struct {
	Namespace, Pod string
	Port           int32
}

func (t Target) String() string { return fmt.Sprintf("pod %s/%s port %d", t.Namespace, t.Pod, t.Port) }

// Resolver maps in-cluster DNS names to the pod and port a connection to them reaches, reading
// Services, EndpointSlices and Pods through the API server.
type Resolver struct {
	client kubernetes.Interface
	// namespace completes a bare Service name.
	namespace string
}

// NewResolver returns a resolver reading through client that completes a bare Service name with
// namespace.
func NewResolver(client kubernetes.Interface, namespace string) *Resolver {
	return &Resolver{client: client, namespace: namespace}
}

// Resolve returns the pod and port that address (host:port) reaches inside the cluster:
//
//   - <service>.<namespace>.svc[.<cluster domain>], <service>.<namespace> or a bare <service>
//     (in the resolver's namespace): a ready endpoint pod of the Service and the target port of
//     the Service port, or, for a headless Service, the port itself;
//   - <hostname>.<service>.<namespace>.svc[.<cluster domain>]: the pod of that hostname behind
//     the headless Service, as a StatefulSet's or Strimzi's brokers are named, and the port itself.
//
// An address it cannot map is an error that names the address and what it looked for.
func (r *Resolver) Resolve(ctx context.Context, address string) (Target, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return Target{}, fmt.Errorf("address %q: want host:port: %w", address, err)
	}
	port, err := strconv.ParseInt(portText, 10, 32)
	if err != nil || port <= 0 {
		return Target{}, fmt.Errorf("address %q: port %q is no number", address, portText)
	}
	name, err := r.parse(host)
	if err != nil {
		return Target{}, fmt.Errorf("address %q: %w", address, err)
	}
	var t Target
	if name.hostname == "" {
		t, err = r.service(ctx, name.namespace, name.service, int32(port))
	} else {
		t, err = r.pod(ctx, name.namespace, name.service, name.hostname, int32(port))
	}
	if err != nil {
		return Target{}, fmt.Errorf("address %q: %w", address, err)
	}
	return t, nil
}

// dnsName is a parsed in-cluster DNS name: a Service, or a hostname behind a headless Service.
type dnsName struct {
	hostname, service, namespace string
}

// parse reads an in-cluster DNS name.
func (r *Resolver) parse(host string) (dnsName, error) {
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	switch svc := slices.Index(labels, "svc"); {
	case net.ParseIP(host) != nil:
		return dnsName{}, fmt.Errorf("%s is an IP address; only in-cluster DNS names can be reached through the API server", host)
	case svc == 2:
		return dnsName{service: labels[0], namespace: labels[1]}, nil
	case svc == 3:
		return dnsName{hostname: labels[0], service: labels[1], namespace: labels[2]}, nil
	case svc < 0 && len(labels) == 2:
		return dnsName{service: labels[0], namespace: labels[1]}, nil
	case svc < 0 && len(labels) == 1 && host != "localhost" && r.namespace != "":
		return dnsName{service: labels[0], namespace: r.namespace}, nil
	}
	return dnsName{}, fmt.Errorf("%s is no in-cluster name: want <service>.<namespace>.svc[.<cluster domain>] "+
		"or <pod hostname>.<headless service>.<namespace>.svc[.<cluster domain>]", host)
}

// service returns a ready endpoint pod of Service namespace/name and the port port leads to.
func (r *Resolver) service(ctx context.Context, namespace, name string, port int32) (Target, error) {
	svc, err := r.client.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Target{}, fmt.Errorf("get Service %s/%s: %w", namespace, name, err)
	}
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	var servicePort *corev1.ServicePort
	for i, p := range svc.Spec.Ports {
		if p.Port == port && cmp.Or(p.Protocol, corev1.ProtocolTCP) == corev1.ProtocolTCP {
			servicePort = &svc.Spec.Ports[i]
		}
	}
	if servicePort == nil && !headless {
		return Target{}, fmt.Errorf("Service %s/%s has no TCP port %d", namespace, name, port)
	}
	eps, err := r.endpointSlices(ctx, namespace, name)
	if err != nil {
		return Target{}, err
	}
	for _, s := range eps {
		target := port
		if servicePort != nil {
			var found bool
			if target, found = slicePort(s, servicePort.Name); !found {
				continue
			}
		}
		for _, e := range s.Endpoints {
			if ready(e) && e.TargetRef != nil && e.TargetRef.Kind == "Pod" {
				return Target{Namespace: namespace, Pod: e.TargetRef.Name, Port: target}, nil
			}
		}
	}
	return Target{}, fmt.Errorf("Service %s/%s has no ready endpoint pod for port %d in its EndpointSlices", namespace, name, port)
}

// pod returns the pod with hostname behind the headless Service namespace/service, and port.
func (r *Resolver) pod(ctx context.Context, namespace, service, hostname string, port int32) (Target, error) {
	eps, err := r.endpointSlices(ctx, namespace, service)
	if err != nil {
		return Target{}, err
	}
	for _, s := range eps {
		for _, e := range s.Endpoints {
			if e.TargetRef == nil || e.TargetRef.Kind != "Pod" {
				continue
			}
			if ptr.Deref(e.Hostname, "") == hostname || (e.Hostname == nil && e.TargetRef.Name == hostname) {
				return Target{Namespace: namespace, Pod: e.TargetRef.Name, Port: port}, nil
			}
		}
	}
	// A pod's hostname is its name unless it sets another, which the EndpointSlices would show.
	pod, err := r.client.CoreV1().Pods(namespace).Get(ctx, hostname, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Target{}, fmt.Errorf("no endpoint with hostname %s in the EndpointSlices of Service %s/%s, and no Pod %s/%s",
			hostname, namespace, service, namespace, hostname)
	case err != nil:
		return Target{}, fmt.Errorf("get Pod %s/%s: %w", namespace, hostname, err)
	case pod.Spec.Subdomain != service:
		return Target{}, fmt.Errorf("no endpoint with hostname %s in the EndpointSlices of Service %s/%s, and Pod %s/%s is not in its subdomain",
			hostname, namespace, service, namespace, hostname)
	}
	return Target{Namespace: namespace, Pod: pod.Name, Port: port}, nil
}

// endpointSlices returns the EndpointSlices of Service namespace/name, in name order.
func (r *Resolver) endpointSlices(ctx context.Context, namespace, name string) ([]discoveryv1.EndpointSlice, error) {
	list, err := r.client.DiscoveryV1().EndpointSlices(namespace).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + name,
	})
	if err != nil {
		return nil, fmt.Errorf("list the EndpointSlices of Service %s/%s: %w", namespace, name, err)
	}
	slices.SortFunc(list.Items, func(a, b discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	return list.Items, nil
}

// slicePort returns the port number of the port named name in s.
func slicePort(s discoveryv1.EndpointSlice, name string) (int32, bool) {
	for _, p := range s.Ports {
		if ptr.Deref(p.Name, "") == name && p.Port != nil {
			return *p.Port, true
		}
	}
	return 0, false
}

// ready reports whether e serves: ready, where an unknown readiness counts as ready.
func ready(e discoveryv1.Endpoint) bool {
	return e.Conditions.Ready == nil || *e.Conditions.Ready
}
