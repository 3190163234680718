package local_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/local"
)

var (
	kafkaLine  = regexp.MustCompile(`embedded Kafka at (\S+),`)
	ingestLine = regexp.MustCompile(`ingest +(http://\S+)`)
	topLine    = regexp.MustCompile(`curl -s '(http://\S+/v1/top\S*)'`)
)

// start runs the local pipeline on random ports with its data in dir, waits for its banner and
// returns the broker address, ingest's URL, the banner and a stop function.
func start(t *testing.T, dir string) (broker, ingestURL, banner string, stop func()) {
	t.Helper()
	cfg := local.DefaultConfig()
	cfg.DataDir = dir
	banner, stop = run(t, cfg)
	return kafkaLine.FindStringSubmatch(banner)[1], ingestLine.FindStringSubmatch(banner)[1], banner, stop
}

// run runs the local pipeline cfg on random ports, logging only errors, waits for its banner
// and returns it with a stop function.
func run(t *testing.T, cfg local.Config) (banner string, stop func()) {
	t.Helper()
	cfg.BrokerPort = 0
	cfg.IngestAddr, cfg.CleanAddr, cfg.PopularityAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.LogLevel = "error"
	out := &kafkatest.LockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- local.Run(ctx, cfg, out) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("local pipeline stopped with %v", err)
		}
	}
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(out.String(), "curl") {
			return fmt.Errorf("no banner yet: %q", out.String())
		}
		return nil
	})
	return out.String(), stop
}

func TestLocalPipelineServesAndKeepsEventsAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	broker, ingestURL, banner, stop := start(t, dir)
	for _, want := range []string{"ingest", "clean", "/healthz", "curl -i -X POST " + ingestURL + "/v1/likes"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	resp, err := http.Post(ingestURL+"/v1/likes", "application/json", strings.NewReader(`{"user_id":"u1","item_id":"dune"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("posting a like: %d", resp.StatusCode)
	}
	cleanTopic := contract.DefaultTopic(contract.TopicClean)
	kafkatest.Eventually(t, 30*time.Second, func() error { return holdsOne(broker, cleanTopic) })
	// One process scores and serves: the like shows in the top list the banner points at.
	kafkatest.Eventually(t, 30*time.Second, func() error { return lists(topLine.FindStringSubmatch(banner)[1], `"id":"dune"`) })
	stop()

	// A restart on the same data directory finds the topics and the event again.
	broker, _, _, stop = start(t, dir)
	defer stop()
	if err := holdsOne(broker, cleanTopic); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	partitions, err := partitionsOf(broker, contract.DefaultTopic(contract.TopicPopularity))
	if err != nil || partitions != local.DefaultConfig().Partitions {
		t.Errorf("popularity topic has %d partitions (%v), want %d like the others", partitions, err, local.DefaultConfig().Partitions)
	}
}

// lists checks that GET url answers 200 with want in its body.
func lists(url, want string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %d %s, want 200 with %s", url, resp.StatusCode, body, want)
	}
	return nil
}

// holdsOne checks that topic on broker holds exactly one committed record.
func holdsOne(broker, topic string) error {
	records, err := kafkatest.ReadCommitted([]string{broker}, topic)
	if err != nil {
		return err
	}
	if len(records) != 1 {
		return fmt.Errorf("%s holds %d records, want 1", topic, len(records))
	}
	return nil
}

func partitionsOf(broker, topic string) (int, error) {
	client, err := sarama.NewClient([]string{broker}, kafka.NewSaramaConfig("local-test"))
	if err != nil {
		return 0, err
	}
	defer client.Close()
	partitions, err := client.Partitions(topic)
	return len(partitions), err
}
