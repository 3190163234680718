package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// cluster returns the kubeconfig's REST config and the namespace to work in.
func (g globals) cluster() (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("read the kubeconfig (or use --local): %w", err)
	}
	ns := g.namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", err
		}
	}
	return cfg, ns, nil
}

// status writes the pipelines' conditions, freshness and consumer lag.
func (g globals) status(ctx context.Context, out io.Writer, args []string) error {
	if g.local {
		return g.localStatus(ctx, out)
	}
	cfg, ns, err := g.cluster()
	if err != nil {
		return err
	}
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	var list v1alpha1.RecommendationPipelineList
	if len(args) > 0 {
		var p v1alpha1.RecommendationPipeline
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: args[0]}, &p); err != nil {
			return err
		}
		list.Items = append(list.Items, p)
	} else if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return err
	}
	return g.writeStatus(ctx, out, cfg, list.Items)
}

// newClient returns a client of the cluster of cfg that knows pipelines.
func newClient(cfg *rest.Config) (client.Client, error) {
	scheme := runtime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// writeStatus writes one line per pipeline and then each one's conditions; the pipelines are in
// the cluster of cfg.
func (g globals) writeStatus(ctx context.Context, out io.Writer, cfg *rest.Config, pipelines []v1alpha1.RecommendationPipeline) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREADY\tFRESH\tP99\tOBJECTIVE\tINGEST\tCLEAN\tPOPULARITY\tCLEAN LAG\tPOPULARITY LAG")
	for i := range pipelines {
		p := &pipelines[i]
		replicas := map[manifests.Role]string{}
		for _, role := range contract.Functions() {
			replicas[role] = "-"
			for _, f := range p.Status.Functions {
				if f.Name == manifests.DeploymentName(p.Name, role) {
					replicas[role] = fmt.Sprintf("%d/%d", f.ReadyReplicas, f.DesiredReplicas)
				}
			}
		}
		p99, objective := "-", string(p.Spec.Popularity.FreshnessObjective)
		if fs := p.Status.Freshness; fs != nil {
			p99 = fs.P99
		}
		cleanLag, popularityLag := g.lags(ctx, func() (*kafkaTarget, error) {
			if g.kafka != "" {
				return connectKafka(g.kafka, p.Name, nil, config.KafkaAuth{})
			}
			c, err := newClient(cfg)
			if err != nil {
				return nil, err
			}
			return g.clusterKafka(ctx, cfg, c, p)
		})
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, condition(p, v1alpha1.ConditionReady),
			condition(p, v1alpha1.ConditionFreshnessMet), p99, objective,
			replicas[contract.FunctionIngest], replicas[contract.FunctionClean], replicas[contract.FunctionPopularity], cleanLag, popularityLag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := range pipelines {
		p := &pipelines[i]
		fmt.Fprintf(out, "\n%s:\n", p.Name)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(out, "  %-19s %-7s %-22s %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	return nil
}

func condition(p *v1alpha1.RecommendationPipeline, typ string) string {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return string(c.Status)
		}
	}
	return "-"
}

// lags returns the consumer lag of clean and popularity in the Kafka connect connects to, or "?"
// when it cannot tell.
func (g globals) lags(ctx context.Context, connect func() (*kafkaTarget, error)) (string, string) {
	t, err := connect()
	if err != nil {
		return "?", "?"
	}
	defer t.Close()
	lag := func(role manifests.Role) string {
		n, err := t.lag(ctx, role)
		if err != nil {
			return "?"
		}
		return strconv.FormatInt(n, 10)
	}
	return lag(contract.FunctionClean), lag(contract.FunctionPopularity)
}

// localStatus writes the status of the `make run` pipeline: popularity's readiness and freshness
// and the consumer lag.
func (g globals) localStatus(ctx context.Context, out io.Writer) error {
	h := localHTTP(g.popularity)
	ready := "True"
	if code, err := h.get(ctx, "/readyz", nil, nil); err != nil || code != http.StatusOK {
		ready = "False"
	}
	var report freshness.Report
	p99 := "-"
	if _, err := h.get(ctx, freshness.Path, nil, &report); err == nil && report.Samples > 0 {
		p99 = report.P99().String()
	}
	cleanLag, popularityLag := g.lags(ctx, func() (*kafkaTarget, error) { return connectKafka(g.kafka, "", nil, config.KafkaAuth{}) })
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREADY\tP99\tOBJECTIVE\tCLEAN LAG\tPOPULARITY LAG")
	fmt.Fprintf(tw, "local\t%s\t%s\t%s\t%s\t%s\n", ready, p99, v1alpha1.DefaultFreshnessObjective, cleanLag, popularityLag)
	return tw.Flush()
}

// top writes popularity's top list.
func (g globals) top(ctx context.Context, out io.Writer, args []string) error {
	pipeline, args, err := g.pipelineArg("top", args)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("top", flag.ContinueOnError)
	n := fs.Int("n", 10, "how many items")
	category := fs.String("category", "", "only items of this category")
	segment := fs.String("segment", "", "rank by this audience segment, such as 25-34.f")
	if err := fs.Parse(args); err != nil {
		return err
	}
	h, err := g.http(pipeline)
	if err != nil {
		return err
	}
	q := url.Values{"n": {strconv.Itoa(*n)}}
	if *category != "" {
		q.Set("category", *category)
	}
	if *segment != "" {
		q.Set("segment", *segment)
	}
	var list struct {
		Items []struct {
			ID       string           `json:"id"`
			Category string           `json:"category"`
			Score    float64          `json:"score"`
			Counts   map[string]int64 `json:"counts"`
		} `json:"items"`
	}
	if _, err := h.get(ctx, "/v1/top", q, &list); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tITEM\tCATEGORY\tSCORE\tLIKED\tVIEWED")
	for i, it := range list.Items {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.2f\t%d\t%d\n", i+1, it.ID, it.Category, it.Score, it.Counts["liked"], it.Counts["viewed"])
	}
	return tw.Flush()
}

// http returns how to reach the pipeline's popularity: --popularity, or the service proxy.
func (g globals) http(pipeline string) (*httpTarget, error) {
	if g.popularity != "" {
		return localHTTP(g.popularity), nil
	}
	cfg, ns, err := g.cluster()
	if err != nil {
		return nil, err
	}
	return proxiedHTTP(cfg, ns, pipeline)
}

// get GETs path with query q and decodes the JSON answer into v, unless v is nil. An answer
// other than 200 is an error.
func (h *httpTarget) get(ctx context.Context, path string, q url.Values, v any) (int, error) {
	u := h.popularity + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	if v == nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}
