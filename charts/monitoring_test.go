package charts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
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

// metricName matches the recoflow metric names in PromQL.
var metricName = regexp.MustCompile(`\brecoflow_[a-z0-9_]+`)

// TestMonitoringNamesMetricsTheFunctionsServe renders the dashboard and the rules, starts ingest,
// clean and popularity in this process on an embedded Kafka, sends one like through them, and
// checks that every recoflow_ metric the dashboard or a rule names is in some function's /metrics.
func TestMonitoringNamesMetricsTheFunctionsServe(t *testing.T) {
	out, err := template(t, monitoringValues...)
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, o := range decode(t, out) {
		switch o.GetKind() {
		case "PrometheusRule", "ConfigMap":
			data, err := json.Marshal(o.Object["spec"])
			if o.GetKind() == "ConfigMap" {
				data, err = json.Marshal(o.Object["data"])
			}
			if err != nil {
				t.Fatal(err)
			}
			named = append(named, metricName.FindAllString(string(data), -1)...)
		}
	}
	slices.Sort(named)
	named = slices.Compact(named)
	if len(named) < 15 {
		t.Fatalf("the dashboard and rules name only %v", named)
	}

	served := servedMetrics(t)
	for _, name := range named {
		if !served[name] {
			t.Errorf("%s is named by the dashboard or a rule but served by no function", name)
		}
	}
}

// servedMetrics runs the three functions on an embedded broker, sends a like through them and
// returns the metric names their /metrics serve.
func servedMetrics(t *testing.T) map[string]bool {
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

	served := map[string]bool{}
	for _, u := range []string{ingestURL, cleanURL, popURL} {
		_, body := httpGet(u + "/metrics")
		for _, line := range strings.Split(body, "\n") {
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			served[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
		}
	}
	return served
}

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
