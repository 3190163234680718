//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
)

// The ways a client posts to ingest.
const (
	modeBinary     = "binary"     // one CloudEvent in binary content mode
	modeStructured = "structured" // one CloudEvent in structured content mode
	modeBatch      = "batch"      // several CloudEvents in one application/cloudevents-batch+json
	modeLikes      = "likes"      // a plain JSON like to /v1/likes
)

var allModes = []string{modeBinary, modeStructured, modeBatch, modeLikes}

// serviceURL returns http://<ClusterIP>:<port> of a Service, which the host reaches through
// kube-proxy, once the Service answers there. A pod that just turned ready is in the Service's
// endpoints at once, but kube-proxy programs the node's rules for it a few seconds later (its
// kubeproxy_network_programming_duration_seconds: 1 to 8 s on this node under the suite's load):
// until then the ClusterIP refuses connections. A client of a Service that just got its first ready
// pod waits for it to answer; so does the suite, for at most a minute.
func serviceURL(t *testing.T, namespace, name string) string {
	t.Helper()
	svc := &corev1.Service{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, svc); err != nil {
		t.Fatalf("get service %s/%s: %v", namespace, name, err)
	}
	url := fmt.Sprintf("http://%s:%d", svc.Spec.ClusterIP, svc.Spec.Ports[0].Port)
	services.Store(url, client.ObjectKeyFromObject(svc))
	probe := &http.Client{Timeout: 5 * time.Second}
	eventually(t, time.Minute, fmt.Sprintf("Service %s/%s answering at %s", namespace, name, url), func() error {
		resp, err := probe.Get(url + contract.PathReadyz)
		if err != nil {
			return fmt.Errorf("%w; %s", err, describeService(url))
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s; %s", contract.PathReadyz, resp.Status, describeService(url))
		}
		return nil
	})
	return url
}

// services maps every URL serviceURL returned to its Service, so that a request that fails can say
// what the cluster knew of the Service at that moment.
var services sync.Map

// describeService says, for a failure message, which endpoints the Service behind url has and how
// ready its pods are, with their latest probe failures.
func describeService(url string) string {
	v, ok := services.Load(url)
	if !ok {
		return "no Service known for " + url
	}
	key := v.(client.ObjectKey)
	ctx := context.Background()
	var b strings.Builder
	fmt.Fprintf(&b, "Service %s:", key)
	var endpointSlices discoveryv1.EndpointSliceList
	if err := env.c.List(ctx, &endpointSlices, client.InNamespace(key.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: key.Name}); err != nil {
		return b.String() + " " + err.Error()
	}
	for _, s := range endpointSlices.Items {
		for _, e := range s.Endpoints {
			fmt.Fprintf(&b, " endpoint %v ready=%v serving=%v terminating=%v;", e.Addresses,
				ptrValue(e.Conditions.Ready), ptrValue(e.Conditions.Serving), ptrValue(e.Conditions.Terminating))
		}
	}
	svc := &corev1.Service{}
	if err := env.c.Get(ctx, key, svc); err != nil {
		return b.String() + " " + err.Error()
	}
	var pods corev1.PodList
	if err := env.c.List(ctx, &pods, client.InNamespace(key.Namespace), client.MatchingLabels(svc.Spec.Selector)); err != nil {
		return b.String() + " " + err.Error()
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				fmt.Fprintf(&b, " pod %s Ready=%s since %s;", p.Name, c.Status, c.LastTransitionTime.UTC().Format(time.RFC3339))
			}
		}
	}
	var events corev1.EventList
	if err := env.c.List(ctx, &events, client.InNamespace(key.Namespace)); err == nil {
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning && strings.HasPrefix(e.InvolvedObject.Name, key.Name) {
				fmt.Fprintf(&b, " event %s %s x%d (last %s): %s;", e.InvolvedObject.Name, e.Reason, e.Count,
					e.LastTimestamp.UTC().Format(time.RFC3339), e.Message)
			}
		}
	}
	return b.String()
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// like is one like a test sends: a unique event id, a user and an item. Popularity counts a user's
// like of an item once, so every like of a test has its own user.
type like struct{ id, user, item string }

// ingestClient posts likes to ingest and counts what ingest accepted.
type ingestClient struct {
	url  string
	http *http.Client
	// accepted counts the accepted likes per item.
	accepted map[string]int64
}

func newIngestClient(url string) *ingestClient {
	return &ingestClient{url: url, http: &http.Client{Timeout: 30 * time.Second}, accepted: map[string]int64{}}
}

func cloudEvent(l like) map[string]any {
	return map[string]any{
		"specversion":     "1.0",
		"id":              l.id,
		"source":          "/e2e",
		"type":            contract.ActionLiked.Type(),
		"subject":         l.item,
		"time":            time.Now().UTC().Format(time.RFC3339Nano),
		"datacontenttype": "application/json",
		"data":            event.Interaction{UserID: l.user, ItemID: l.item},
	}
}

// post sends likes in one mode (one request, or one per like) and returns an error for anything
// but 202 Accepted.
func (c *ingestClient) post(mode string, likes ...like) error {
	var requests []*http.Request
	add := func(path, contentType string, body any, headers map[string]string) error {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequest(http.MethodPost, c.url+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		requests = append(requests, req)
		return nil
	}
	switch mode {
	case modeBinary:
		for _, l := range likes {
			headers := map[string]string{
				"Ce-Specversion": "1.0", "Ce-Id": l.id, "Ce-Source": "/e2e",
				"Ce-Type": contract.ActionLiked.Type(), "Ce-Subject": l.item,
			}
			if err := add("/", "application/json", event.Interaction{UserID: l.user, ItemID: l.item}, headers); err != nil {
				return err
			}
		}
	case modeStructured:
		for _, l := range likes {
			if err := add("/", "application/cloudevents+json", cloudEvent(l), nil); err != nil {
				return err
			}
		}
	case modeBatch:
		batch := make([]map[string]any, len(likes))
		for i, l := range likes {
			batch[i] = cloudEvent(l)
		}
		if err := add("/", "application/cloudevents-batch+json", batch, nil); err != nil {
			return err
		}
	case modeLikes:
		for _, l := range likes {
			if err := add("/v1/likes", "application/json", map[string]string{"user_id": l.user, "item_id": l.item}, nil); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	for _, req := range requests {
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s post: %w; %s", mode, err, describeService(c.url))
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("%s post: %s: %s", mode, resp.Status, body)
		}
	}
	for _, l := range likes {
		c.accepted[l.item]++
	}
	return nil
}

// topItem is an item of popularity's /v1/top.
type topItem struct {
	ID     string                    `json:"id"`
	Counts map[contract.Action]int64 `json:"counts"`
}

// likeCounts reads popularity's top list and returns the like count of every item in it.
func likeCounts(url string, n int) (map[string]int64, error) {
	resp, err := http.Get(fmt.Sprintf("%s/v1/top?n=%d", url, n))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/top: %s: %s", resp.Status, body)
	}
	var top struct {
		Items []topItem `json:"items"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, fmt.Errorf("GET /v1/top: %w: %s", err, body)
	}
	counts := map[string]int64{}
	for _, it := range top.Items {
		counts[it.ID] = it.Counts[contract.ActionLiked]
	}
	return counts, nil
}

// waitCounts waits until popularity's top list shows exactly the wanted like counts.
func waitCounts(t *testing.T, url string, want map[string]int64, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, "popularity counts", func() error {
		got, err := likeCounts(url, len(want)+10)
		if err != nil {
			return err
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("counts %s, want %s", formatCounts(got), formatCounts(want))
		}
		return nil
	})
}

func formatCounts(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return "{" + strings.Join(parts, " ") + "}"
}
