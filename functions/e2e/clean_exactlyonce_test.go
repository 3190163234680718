package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
)

// cleanChildEnv names the environment variable that turns the test binary into a clean child
// process (see TestCleanChildProcess). Its value says where the child kills itself, as for
// popChildEnv.
const cleanChildEnv = "RECOFLOW_TEST_CLEAN_CHILD"

// TestCleanChildProcess is the clean function that TestCleanExactlyOnceAcrossCrashes starts as a
// child process and kills; it is not a test of its own and skips unless cleanChildEnv is set.
// The child reads its settings from the RECOFLOW_* environment like the real binary.
func TestCleanChildProcess(t *testing.T) {
	kafkatest.RunChild(t, cleanChildEnv, "TestCleanExactlyOnceAcrossCrashes", func(log *slog.Logger, hook kafkatest.Hook) error {
		cfg := config.DefaultClean()
		if err := serve.ParseSettings("clean", &cfg, nil, os.LookupEnv); err != nil {
			return &kafkatest.SettingsError{Err: err}
		}
		return clean.Run(context.Background(), cfg, serve.Options{Logger: log, Sarama: popularitytest.FastGroups, TransactionHook: hook})
	})
}

// rawStream writes valid raw interaction events to the raw topic, each from a user of its own,
// and now and then a client's retry of an event written before.
type rawStream struct {
	sink *kafka.Sink

	mu    sync.Mutex
	sent  map[string]bool   // ids Kafka acknowledged
	times map[int]time.Time // event number -> its time, which a retry repeats
	next  int
}

func newRawStream(t *testing.T, cluster *popularitytest.Cluster) *rawStream {
	t.Helper()
	client, err := sarama.NewClient(cluster.Brokers, kafka.NewSaramaConfig("raw-stream"))
	if err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = producer.Close()
		_ = client.Close()
	})
	return &rawStream{sink: kafka.NewSink(producer, contract.DefaultTopic(contract.TopicRaw)), sent: map[string]bool{}, times: map[int]time.Time{}}
}

// publish writes n new events plus a retry of every tenth event sent before them.
func (s *rawStream) publish(ctx context.Context, n int) error {
	s.mu.Lock()
	start := s.next
	s.next += n
	now := time.Now()
	var events []cloudevents.Event
	for i := start; i < start+n; i++ {
		s.times[i] = now
		events = append(events, rawEvent(i, now))
		if i%10 == 0 && i > 0 {
			events = append(events, rawEvent(i-5, s.times[i-5])) // a client retrying an event
		}
	}
	s.mu.Unlock()
	if res := s.sink.SendEvents(ctx, events...); !cloudevents.IsACK(res) {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.sent[e.ID()] = true
	}
	return nil
}

// stream publishes in the background until stop is called.
func (s *rawStream) stream(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for ctx.Err() == nil {
			// A batch is never cut short: cancelled while in flight, it could reach the raw
			// topic without being recorded as sent.
			if err := s.publish(context.WithoutCancel(ctx), 10); err != nil {
				t.Errorf("publish: %v", err)
				return
			}
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func rawEvent(i int, at time.Time) cloudevents.Event {
	item := fmt.Sprintf("item-%d", i%37)
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("ev-%05d", i))
	e.SetSource("urn:test:crash")
	e.SetType(contract.TypeLiked)
	e.SetSubject(item)
	e.SetTime(at)
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: fmt.Sprintf("user-%05d", i), ItemID: item})
	return e
}

// exactlyOnce checks that the clean topic holds, committed, every event the stream sent exactly
// once and nothing else, and that nothing was dead-lettered.
func (s *rawStream) exactlyOnce(cluster *popularitytest.Cluster) error {
	records, err := kafkatest.ReadCommitted(cluster.Brokers, contract.DefaultTopic(contract.TopicClean))
	if err != nil {
		return err
	}
	seen := map[string]int{}
	for _, r := range records {
		seen[kafkatest.Header(r, "ce_id")]++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var problems []string
	for id := range s.sent {
		if seen[id] != 1 {
			var where []string
			for _, r := range records {
				if kafkatest.Header(r, "ce_id") == id {
					where = append(where, fmt.Sprintf("%d/%d@%s", r.Partition, r.Offset, r.Timestamp.Format("15:04:05.000")))
				}
			}
			problems = append(problems, fmt.Sprintf("%s %d times %v", id, seen[id], where))
		}
	}
	for id := range seen {
		if !s.sent[id] {
			problems = append(problems, id+" never sent")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("clean holds %d records for %d events; %d wrong, such as %v", len(records), len(s.sent), len(problems), problems[:min(5, len(problems))])
	}
	if dead, err := kafkatest.ReadCommitted(cluster.Brokers, contract.DefaultTopic(contract.TopicDeadLetter)); err != nil || len(dead) > 0 {
		return fmt.Errorf("dead-letter topic holds %d records (%v), want none", len(dead), err)
	}
	return nil
}

// cleanConfig returns clean's settings on cluster for instance.
func cleanConfig(cluster *popularitytest.Cluster, instance string) config.Clean {
	cfg := config.DefaultClean()
	cfg.Brokers = cluster.Brokers
	cfg.InstanceID = instance
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 10 * time.Second
	return cfg
}

// runClean runs clean in this process until the returned stop is called.
func runClean(t *testing.T, cfg config.Clean, hook func(context.Context, kafka.Stage) error) (stop func()) {
	t.Helper()
	p := &pipeline{}
	return p.run(t, "clean "+cfg.InstanceID, func(ctx context.Context) error {
		return clean.Run(ctx, cfg, serve.Options{Logger: slog.New(slog.DiscardHandler), Sarama: popularitytest.FastGroups, TransactionHook: hook})
	})
}

// TestCleanExactlyOnceAcrossCrashes kills clean, as a separate process and without any clean
// shutdown, at every step of its transaction and at arbitrary moments, while events and client
// retries keep arriving. In the end the clean topic holds every event exactly once: nothing lost,
// nothing re-emitted by a restart, every retry dropped.
func TestCleanExactlyOnceAcrossCrashes(t *testing.T) {
	t.Parallel() // it spends most of its time waiting on its child processes
	cluster := popularitytest.NewCluster(t, 3)
	stream := newRawStream(t, cluster)
	stop := stream.stream(t)
	group := config.DefaultClean().Group
	crashEverywhere(t, cluster, group, "clean", func(instance, spec string) *kafkatest.Child {
		cfg := cleanConfig(cluster, instance)
		return kafkatest.StartChild(t, "TestCleanChildProcess",
			cleanChildEnv+"="+spec,
			contract.EnvKafkaBrokers+"="+strings.Join(cfg.Brokers, ","),
			contract.EnvInstanceID+"="+cfg.InstanceID,
			contract.EnvHTTPAddr+"="+cfg.HTTPAddr,
		)
	})

	// A survivor under a name already used takes over and catches up.
	runClean(t, cleanConfig(cluster, "clean-0"), nil)
	stop()
	kafkatest.Eventually(t, 30*time.Second, func() error { return stream.exactlyOnce(cluster) })
	t.Logf("%d events reached clean exactly once", len(stream.sent))
}

// TestCleanStalledLongerThanTheWindowRepeatsNothing stalls clean inside a transaction, its
// outputs written and its offsets not committed, for longer than the de-duplication window, so
// that the window can no longer recognise those events; then replaces it. The replacement
// processes the uncommitted events again, and the clean topic still holds each exactly once:
// the stalled outputs never became visible.
func TestCleanStalledLongerThanTheWindowRepeatsNothing(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 3)
	stream := newRawStream(t, cluster)
	if err := stream.publish(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	cfg := cleanConfig(cluster, "stalled")
	cfg.DedupeWindow = 300 * time.Millisecond
	stalled, release := make(chan struct{}), make(chan struct{})
	var transactions int
	stopStalled := runClean(t, cfg, func(ctx context.Context, s kafka.Stage) error {
		if s != kafka.StageProduced {
			return nil
		}
		if transactions++; transactions == 2 {
			close(stalled)
			<-release
			return errors.New("the stalled instance gives up")
		}
		return nil
	})
	kafkatest.Eventually(t, 30*time.Second, func() error {
		select {
		case <-stalled:
			return nil
		default:
		}
		if err := stream.publish(t.Context(), 10); err != nil {
			t.Fatal(err)
		}
		return errors.New("clean has not reached its second transaction")
	})
	// More events arrive while clean is stalled, and the window passes for the stalled ones.
	if err := stream.publish(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * cfg.DedupeWindow)
	kafkatest.Eventually(t, 5*time.Second, func() error {
		if time.Now().Before(deadline) {
			return errors.New("the de-duplication window has not passed yet")
		}
		return nil
	})
	close(release)
	stopStalled()

	cfg.InstanceID = "replacement"
	runClean(t, cfg, nil)
	if err := stream.publish(t.Context(), 100); err != nil {
		t.Fatal(err)
	}
	kafkatest.Eventually(t, 30*time.Second, func() error { return stream.exactlyOnce(cluster) })
}
