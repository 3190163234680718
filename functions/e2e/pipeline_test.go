package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/local"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/serve"
)

// waitFor bounds every wait on the pipeline.
const waitFor = 30 * time.Second

// pipeline is a running pipeline: a broker with the topics, ingest, and clean.
type pipeline struct {
	kafka     *kfake.Cluster
	common    config.Common
	ingestURL string
	client    *http.Client

	mu            sync.Mutex
	cleansStarted int
	cleans        []func() // stop functions of the running clean replicas
}

// startPipeline starts a broker on a random port, creates the topics as `make run` does, and
// runs ingest and clean. configure adjusts ingest's settings. Everything stops when the test
// ends.
func startPipeline(t *testing.T, configure func(*config.Ingest)) *pipeline {
	t.Helper()
	c := kafkatest.NewCluster(t)
	common := config.DefaultCommon()
	common.Brokers = c.ListenAddrs()
	common.ShutdownTimeout = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := local.CreateTopics(ctx, common.Brokers, common.KafkaAuth, common.Topics, kafkatest.Partitions); err != nil {
		t.Fatal(err)
	}
	p := &pipeline{kafka: c, common: common, client: &http.Client{Timeout: waitFor}}

	cfg := config.DefaultIngest()
	cfg.Common = common
	if configure != nil {
		configure(&cfg)
	}
	ln := p.listen(t)
	p.ingestURL = "http://" + ln.Addr().String()
	stopIngest := p.run(t, "ingest", func(ctx context.Context) error { return ingest.Run(ctx, cfg, p.options(ln)) })
	t.Cleanup(stopIngest)
	p.startClean(t)
	t.Cleanup(p.stopCleans)
	kafkatest.Eventually(t, waitFor, func() error {
		resp, err := p.client.Get(p.ingestURL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest not ready: %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

func (p *pipeline) listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func (p *pipeline) options(ln net.Listener) serve.Options {
	return serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln, ProbeInterval: 100 * time.Millisecond}
}

// run runs a function in the background and returns a stop that shuts it down gracefully and
// fails the test if it stopped with an error.
func (p *pipeline) run(t *testing.T, name string, run func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with %v", name, err)
			}
		})
	}
}

// startClean starts one more clean replica in the consumer group.
func (p *pipeline) startClean(t *testing.T) {
	t.Helper()
	cfg := config.DefaultClean()
	cfg.Common = p.common
	ln := p.listen(t)
	p.mu.Lock()
	// Replicas have names of their own, as pods do: a transactional id is one replica's.
	cfg.InstanceID = fmt.Sprintf("clean-%d", p.cleansStarted)
	p.cleansStarted++
	p.mu.Unlock()
	stop := p.run(t, "clean", func(ctx context.Context) error { return clean.Run(ctx, cfg, p.options(ln)) })
	p.mu.Lock()
	p.cleans = append(p.cleans, stop)
	p.mu.Unlock()
}

// startPopularity runs popularity beside the pipeline, flushing every 100 ms, and waits until it
// is ready. It returns its settings and base URL.
func (p *pipeline) startPopularity(t *testing.T) (config.Popularity, string) {
	t.Helper()
	cfg := config.DefaultPopularity()
	cfg.Common = p.common
	cfg.FlushInterval = 100 * time.Millisecond
	ln := p.listen(t)
	base := "http://" + ln.Addr().String()
	t.Cleanup(p.run(t, "popularity", func(ctx context.Context) error { return popularity.Run(ctx, cfg, p.options(ln)) }))
	kafkatest.Eventually(t, waitFor, func() error { return popStatus(p.client, base+"/readyz", http.StatusOK) })
	return cfg, base
}

// stopCleans shuts every running clean replica down gracefully.
func (p *pipeline) stopCleans() {
	p.mu.Lock()
	cleans := p.cleans
	p.cleans = nil
	p.mu.Unlock()
	for _, stop := range cleans {
		stop()
	}
}

// post sends one request to ingest and returns the status and the decoded JSON answer.
func (p *pipeline) post(path string, header map[string]string, body string) (int, map[string]any, http.Header, error) {
	req, err := http.NewRequest(http.MethodPost, p.ingestURL+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return resp.StatusCode, nil, resp.Header, fmt.Errorf("answer %d is not JSON: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, answer, resp.Header, nil
}

// settled waits until clean has processed every record on the raw topic and stored its outputs.
func (p *pipeline) settled(t *testing.T) {
	t.Helper()
	kafkatest.WaitCommitted(t, p.kafka, config.DefaultClean().Group, p.common.Topics.Raw, waitFor)
}

// produceRaw writes records straight to the raw topic, as a client other than ingest could.
func (p *pipeline) produceRaw(t *testing.T, msgs ...*sarama.ProducerMessage) {
	t.Helper()
	for _, m := range msgs {
		m.Topic = p.common.Topics.Raw
	}
	kafkatest.Produce(t, p.kafka, msgs...)
}

// binaryHeaders are the HTTP headers of a binary-mode liked event with id.
func binaryHeaders(id string) map[string]string {
	return map[string]string{
		"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Source": "e2e", "Ce-Type": contract.TypeLiked,
		"Content-Type": "application/json",
	}
}

// structuredEvent is a structured-mode event of type with id, time and data.
func structuredEvent(id, eventType string, at time.Time, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"e2e","type":%q,"time":%q,"data":%s}`,
		id, eventType, at.UTC().Format(time.RFC3339Nano), data)
}

// interaction is the payload of an interaction for user on item.
func interaction(user, item string) string {
	return fmt.Sprintf(`{"user_id":%q,"item_id":%q}`, user, item)
}

// payloadUser returns data.user_id of an event record.
func payloadUser(r *sarama.ConsumerMessage) string {
	var in event.Interaction
	_ = json.Unmarshal(r.Value, &in)
	return in.UserID
}

// cleanIDs counts the events on the clean topic by id.
func (p *pipeline) cleanIDs(t *testing.T) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, r := range kafkatest.Records(t, p.kafka, p.common.Topics.Clean) {
		ids[kafkatest.Header(r, "ce_id")]++
	}
	return ids
}

// expectEachOnce checks that the clean topic holds distinct events, each exactly once.
func (p *pipeline) expectEachOnce(t *testing.T, distinct int) {
	t.Helper()
	ids := p.cleanIDs(t)
	if len(ids) != distinct {
		t.Errorf("clean topic holds %d distinct events, want %d", len(ids), distinct)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s is on the clean topic %d times, want once", id, n)
		}
	}
}
