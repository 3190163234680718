package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/freshness"
	"github.com/recoflow/recoflow/operator/api/v1alpha1"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

// DefaultFreshnessInterval is how often the freshness of a pipeline whose popularity runs is
// measured again.
const DefaultFreshnessInterval = 30 * time.Second

// FreshnessReader reads the freshness report of a pipeline's popularity function.
type FreshnessReader interface {
	ReadFreshness(ctx context.Context, p *v1alpha1.RecommendationPipeline) (freshness.Report, error)
}

// HTTPFreshness reads the report from popularity's Service over plain HTTP, as any client in the
// cluster can: the operator needs no extra permission, popularity no Kubernetes credentials, and
// neither a Prometheus. Every popularity replica serves the whole view, so the one the Service
// picks answers for the pipeline.
type HTTPFreshness struct {
	// Client makes the requests; nil means a client with a 2 s timeout.
	Client *http.Client
}

// ReadFreshness gets freshness.Path from p's popularity Service, at the URL of p's
// status.endpoints (fully qualified in the cluster's domain).
func (h HTTPFreshness) ReadFreshness(ctx context.Context, p *v1alpha1.RecommendationPipeline) (freshness.Report, error) {
	if p.Status.Endpoints.Popularity == "" {
		return freshness.Report{}, fmt.Errorf("popularity of %s has no endpoint yet", p.Name)
	}
	return GetFreshness(ctx, h.Client, p.Status.Endpoints.Popularity)
}

// GetFreshness gets freshness.Path from the popularity function at base, such as
// http://shop-popularity.ns.svc.cluster.local.
func GetFreshness(ctx context.Context, c *http.Client, base string) (freshness.Report, error) {
	if c == nil {
		c = &http.Client{Timeout: 2 * time.Second}
	}
	var r freshness.Report
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+freshness.Path, nil)
	if err != nil {
		return r, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return r, fmt.Errorf("get popularity's freshness: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return r, fmt.Errorf("read popularity's freshness: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("get popularity's freshness: %s", resp.Status)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("decode popularity's freshness: %w", err)
	}
	return r, nil
}

// reportFreshness measures the freshness of p's rankings, when popularity runs, into
// status.freshness and the FreshnessMet condition. It returns how soon to measure again, or 0
// when there is nothing to measure until something else changes.
func (r *PipelineReconciler) reportFreshness(ctx context.Context, p *v1alpha1.RecommendationPipeline) time.Duration {
	if r.Freshness == nil {
		return 0
	}
	objective := p.Spec.Popularity.FreshnessObjective
	if objective == "" {
		objective = v1alpha1.DefaultFreshnessObjective
	}
	set := func(status metav1.ConditionStatus, reason, message string) {
		meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{Type: v1alpha1.ConditionFreshnessMet,
			Status: status, Reason: reason, Message: message, ObservedGeneration: p.Generation})
	}
	if !popularityRuns(p) {
		p.Status.Freshness = nil
		set(metav1.ConditionUnknown, v1alpha1.ReasonNotMeasured, "Popularity has no ready replica to measure.")
		return 0
	}
	report, err := r.Freshness.ReadFreshness(ctx, p)
	if err != nil {
		p.Status.Freshness = nil
		set(metav1.ConditionUnknown, v1alpha1.ReasonNotMeasured, err.Error())
		return r.freshnessInterval()
	}
	c, fs := freshnessCondition(report, objective)
	p.Status.Freshness = fs
	set(c.Status, c.Reason, c.Message)
	return r.freshnessInterval()
}

func (r *PipelineReconciler) freshnessInterval() time.Duration {
	if r.FreshnessInterval > 0 {
		return r.FreshnessInterval
	}
	return DefaultFreshnessInterval
}

// freshnessCondition compares report with objective.
func freshnessCondition(report freshness.Report, objective v1alpha1.Duration) (metav1.Condition, *v1alpha1.FreshnessStatus) {
	limit, err := time.ParseDuration(string(objective))
	if err != nil {
		return metav1.Condition{Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonNotMeasured,
			Message: fmt.Sprintf("freshnessObjective %q is not a duration.", objective)}, nil
	}
	window := time.Duration(report.WindowSeconds * float64(time.Second))
	if report.Samples == 0 {
		return metav1.Condition{Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonNoRecentEvents,
			Message: fmt.Sprintf("Popularity served no new event in the last %v.", window)}, nil
	}
	p99 := report.P99()
	fs := &v1alpha1.FreshnessStatus{P99: p99.String(), Objective: objective}
	if p99 > limit {
		return metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonObjectiveMissed,
			Message: fmt.Sprintf("The 99th percentile of event time to served, %v over the last %v, is above the objective of %s.", p99, window, objective)}, fs
	}
	return metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonWithinObjective,
		Message: fmt.Sprintf("The 99th percentile of event time to served, %v over the last %v, is within the objective of %s.", p99, window, objective)}, fs
}

// popularityRuns reports whether p's status shows a ready popularity replica.
func popularityRuns(p *v1alpha1.RecommendationPipeline) bool {
	if p.Spec.Suspend {
		return false
	}
	name := manifests.DeploymentName(p.Name, contract.FunctionPopularity)
	for _, f := range p.Status.Functions {
		if f.Name == name {
			return f.ReadyReplicas > 0
		}
	}
	return false
}

// sooner returns the shorter of two waits, where 0 means no wait is asked for.
func sooner(a, b time.Duration) time.Duration {
	if a == 0 || (b > 0 && b < a) {
		return b
	}
	return a
}
