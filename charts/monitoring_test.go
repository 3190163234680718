package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/local/localtest"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

var monitoringValues = []string{"monitoring.podMonitor.enabled=true", "monitoring.rules.enabled=true", "monitoring.dashboard.enabled=true"}

// TestMonitoringIsOffByDefault checks that a default install needs neither the Prometheus Operator
// nor Grafana.
func TestMonitoringIsOffByDefault(t *testing.T) {
	for _, o := range render(t) {
		if strings.HasPrefix(o.GetAPIVersion(), "monitoring.coreos.com/") && o.GetName() != operator {
			t.Errorf("default values render %s %s", o.GetKind(), o.GetName())
		}
		if o.GetLabels()["grafana_dashboard"] != "" {
			t.Errorf("default values render the dashboard %s", o.GetName())
		}
	}
}

// TestMonitoringObjects checks what Grafana's sidecar and the Prometheus Operator look for: the
// dashboard's label and valid JSON, and the PodMonitor on the functions' named port.
func TestMonitoringObjects(t *testing.T) {
	objs := render(t, monitoringValues...)
	cm := objs.must(t, "ConfigMap", release+"-dashboard-pipelines")
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard labels %v, want grafana_dashboard: \"1\"", cm.GetLabels())
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []any  `json:"panels"`
	}
	if err := json.Unmarshal([]byte(field(t, cm, "data", "recoflow-pipelines.json").(string)), &dash); err != nil || dash.UID == "" || len(dash.Panels) < 10 {
		t.Errorf("dashboard JSON: %v, uid %q, %d panels", err, dash.UID, len(dash.Panels))
	}
	pm := objs.must(t, "PodMonitor", release+"-functions")
	endpoints := field(t, pm, "spec", "podMetricsEndpoints").([]any)
	if port := endpoints[0].(map[string]any)["port"]; port != "http" {
		t.Errorf("PodMonitor scrapes port %v, want the functions' http port", port)
	}
	alerts := ruleAlerts(t, objs)
	for _, want := range []string{"RecoflowIngestUnavailable", "RecoflowDeadLetterRate", "RecoflowConsumerLagGrowing",
		"RecoflowFreshnessBudgetBurn", "RecoflowTransactionsAborting", "RecoflowPartitionStalled"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s among %v", want, alerts)
		}
	}
}

func ruleAlerts(t *testing.T, objs objects) []string {
	t.Helper()
	var alerts []string
	for _, g := range field(t, objs.must(t, "PrometheusRule", release+"-functions"), "spec", "groups").([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			alerts = append(alerts, r.(map[string]any)["alert"].(string))
		}
	}
	return alerts
}

// parsedQuery is what Prometheus's parser made of one query of the dashboard or the rules
// (hack/promql).
type parsedQuery struct {
	Where   string   `json:"where"`
	Error   string   `json:"error"`
	Metrics []string `json:"metrics"`
	Labels  []string `json:"labels"`
}

// parseQueries collects every PromQL expression of the rendered rules and dashboard and parses
// each with Prometheus's own parser, run from its module in hack/promql.
func parseQueries(t *testing.T, objs objects) []parsedQuery {
	t.Helper()
	type query struct {
		Where string `json:"where"`
		Expr  string `json:"expr"`
	}
	var queries []query
	for _, g := range field(t, objs.must(t, "PrometheusRule", release+"-functions"), "spec", "groups").([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rule := r.(map[string]any)
			queries = append(queries, query{Where: "alert " + rule["alert"].(string), Expr: rule["expr"].(string)})
		}
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	cm := objs.must(t, "ConfigMap", release+"-dashboard-pipelines")
	if err := json.Unmarshal([]byte(field(t, cm, "data", "recoflow-pipelines.json").(string)), &dash); err != nil {
		t.Fatal(err)
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries = append(queries, query{Where: "dashboard panel " + strconv.Quote(p.Title), Expr: target.Expr})
		}
	}
	in, err := json.Marshal(queries)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = filepath.Join("..", "hack", "promql")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run ./hack/promql: %v: %s", err, stderr.String())
	}
	var parsed []parsedQuery
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatalf("hack/promql answered %q: %v", out, err)
	}
	if len(parsed) != len(queries) || len(parsed) < 20 {
		t.Fatalf("parsed %d of %d queries", len(parsed), len(queries))
	}
	return parsed
}

// scrapeLabels are the labels Prometheus adds to every series it scrapes through the chart's
// PodMonitor: its own target labels and the PodMonitor's relabelings.
var scrapeLabels = []string{"namespace", "pod", "container", "endpoint", "job", "instance", "service", "pipeline", "function"}

// TestMonitoringQueriesAskForWhatTheFunctionsServe renders the dashboard and the rules, parses
// every query with Prometheus's parser, starts ingest, clean and popularity in this process on
// an embedded Kafka, sends a like and a dead letter through them, and checks that every query
// parses and that every metric and label it names is in some function's /metrics or added by
// the scrape.
func TestMonitoringQueriesAskForWhatTheFunctionsServe(t *testing.T) {
	parsed := parseQueries(t, render(t, monitoringValues...))
	served, labels := servedMetrics(t)
	for _, l := range scrapeLabels {
		labels[l] = true
	}
	for _, q := range parsed {
		if q.Error != "" {
			t.Errorf("%s: PromQL does not parse: %s", q.Where, q.Error)
			continue
		}
		if len(q.Metrics) == 0 {
			t.Errorf("%s selects no metric", q.Where)
		}
		for _, m := range q.Metrics {
			if !served[m] {
				t.Errorf("%s: %s is served by no function", q.Where, m)
			}
		}
		for _, l := range q.Labels {
			if !labels[l] {
				t.Errorf("%s: no series has the label %s", q.Where, l)
			}
		}
	}
}

// servedMetrics runs the three functions on an embedded broker, sends a like and a dead letter
// through them and returns the metric names and the label names their /metrics serve.
func servedMetrics(t *testing.T) (metrics, labels map[string]bool) {
	t.Helper()
	cluster := popularitytest.NewCluster(t, 2)
	p := localtest.StartPipeline(t, cluster.Brokers)
	ingestURL, cleanURL, popURL := p.IngestURL, p.CleanURL, p.PopularityURL
	resp, err := http.Post(ingestURL+"/v1/likes", "application/json", strings.NewReader(`{"user_id":"u1","item_id":"dune"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/likes: %s", resp.Status)
	}
	deadLetter(t, cluster.Brokers, contract.DefaultTopic(contract.TopicRaw))
	kafkatest.Eventually(t, time.Minute, func() error {
		if code, _ := httpGet(popURL + "/v1/items/dune"); code != http.StatusOK {
			return fmt.Errorf("the like is not served yet: %d", code)
		}
		_, metrics := httpGet(popURL + "/metrics")
		if !strings.Contains(metrics, "recoflow_popularity_freshness_seconds_count") {
			return fmt.Errorf("no freshness observed yet")
		}
		return nil
	})

	metrics, labels = map[string]bool{}, map[string]bool{}
	for _, u := range []string{ingestURL, cleanURL, popURL} {
		_, body := httpGet(u + "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			metrics[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
			for _, m := range labelName.FindAllStringSubmatch(line, -1) {
				labels[m[1]] = true
			}
		}
	}
	return metrics, labels
}

// labelName matches the label names of an exposition line: `name="` inside its braces.
var labelName = regexp.MustCompile(`[{,]([a-zA-Z_][a-zA-Z0-9_]*)="`)

// deadLetter writes a record that clean dead-letters to the raw topic: a like from a year ago.
func deadLetter(t *testing.T, brokers []string, topic string) {
	t.Helper()
	client, err := sarama.NewClient(brokers, kafka.NewSaramaConfig("monitoring-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := kafka.NewProducer(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	e := cloudevents.NewEvent()
	e.SetID("old")
	e.SetSource("urn:test")
	e.SetType(contract.ActionLiked.Type())
	e.SetSubject("dune")
	e.SetTime(time.Now().AddDate(-1, 0, 0))
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: "u2", ItemID: "dune"})
	if err := kafka.NewSink(producer, topic).SendEvents(context.Background(), e); cloudevents.IsUndelivered(err) {
		t.Fatal(err)
	}
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
