package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
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
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
	"github.com/recoflow/recoflow/functions/serve"
	"github.com/recoflow/recoflow/operator/internal/manifests"
)

const waitFor = 30 * time.Second

// TestRedrive runs clean with a future-time rule too strict for its clients, so that a like from
// a client whose clock runs ahead is dead-lettered with time_in_future beside a too_old one; then
// "deploys the fix" (clean restarted with a looser rule) and redrives with the plugin, as an
// operator would: a dry run changes nothing, the redrive puts back only the chosen reason with
// its CloudEvent id, and a second redrive by mistake leaves the like counted once.
func TestRedrive(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 3)
	brokers := strings.Join(cluster.Brokers, ",")
	common := cluster.Config("redrive").Common

	strict := config.DefaultClean()
	strict.Common = common
	strict.MaxFutureSkew = time.Second
	stopClean := popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error {
		return clean.Run(ctx, strict, quiet(t))
	}))
	popularityURL := startPopularity(t, cluster)

	ahead := like("ahead-1", "dune", time.Now().Add(time.Minute))
	old := like("old-1", "ulysses", time.Now().Add(-400*24*time.Hour))
	fine := like("fine-1", "emma", time.Now())
	produce(t, cluster, ahead, old, fine)

	plugin := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		args = append([]string{"--local", "--kafka", brokers, "--popularity", popularityURL}, args...)
		if err := run(context.Background(), args, &out); err != nil {
			t.Fatalf("kubectl recoflow %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	kafkatest.Eventually(t, waitFor, func() error {
		ls := plugin("dlq", "ls")
		if !hasLine(ls, "time_in_future", "1") || !hasLine(ls, "too_old", "1") || !hasLine(ls, "total", "2") {
			return fmt.Errorf("dlq ls:\n%s", ls)
		}
		return nil
	})
	show := plugin("dlq", "show", "--reason", "time_in_future")
	if !strings.Contains(show, "ahead-1") || strings.Contains(show, "old-1") || !strings.Contains(show, contract.DefaultTopic(contract.TopicRaw)+"/") {
		t.Errorf("dlq show --reason time_in_future, want the ahead like alone with its raw offset:\n%s", show)
	}
	kafkatest.Eventually(t, waitFor, func() error {
		_, err := itemCounts(popularityURL, "emma")
		return err
	})

	// The fix: clean accepts clocks up to an hour ahead.
	if err := stopClean(); err != nil {
		t.Fatal(err)
	}
	fixed := strict
	fixed.MaxFutureSkew = time.Hour
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return clean.Run(ctx, fixed, quiet(t)) }))

	rawBefore := endOffsets(t, cluster, contract.DefaultTopic(contract.TopicRaw))
	dry := plugin("dlq", "redrive", "--reason", "time_in_future", "--since", "1h", "--dry-run")
	if !strings.Contains(dry, "ahead-1") || !strings.Contains(dry, "would redrive (dry run) 1") {
		t.Errorf("dry run:\n%s", dry)
	}
	if after := endOffsets(t, cluster, contract.DefaultTopic(contract.TopicRaw)); after != rawBefore {
		t.Errorf("the dry run wrote %d raw records", after-rawBefore)
	}

	first := plugin("dlq", "redrive", "--reason", "time_in_future", "--since", "1h")
	if !strings.Contains(first, "redrove 1;") {
		t.Errorf("first redrive:\n%s", first)
	}
	kafkatest.Eventually(t, waitFor, func() error {
		counts, err := itemCounts(popularityURL, "dune")
		if err != nil {
			return err
		}
		if counts["liked"] != 1 {
			return fmt.Errorf("dune liked %d times, want 1", counts["liked"])
		}
		return nil
	})

	second := plugin("dlq", "redrive", "--reason", "time_in_future", "--since", "1h")
	if !strings.Contains(second, "redrove 0; skipped 1 already redriven") {
		t.Errorf("second redrive:\n%s", second)
	}
	// Whatever the raw topic holds now has been through clean and popularity: still one like.
	k, err := connectKafka(brokers, "", nil, config.KafkaAuth{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	kafkatest.Eventually(t, waitFor, func() error {
		for _, role := range []manifests.Role{contract.FunctionClean, contract.FunctionPopularity} {
			if lag, err := k.lag(context.Background(), role); err != nil || lag != 0 {
				return fmt.Errorf("%s lag %d %v", role, lag, err)
			}
		}
		return nil
	})
	copies := 0
	err = k.scan(context.Background(), contract.DefaultTopic(contract.TopicClean), time.Time{}, func(msg *sarama.ConsumerMessage) error {
		if _, id, err := identity(context.Background(), msg); err == nil && id == "ahead-1" {
			copies++
		}
		return nil
	})
	if err != nil || copies != 1 {
		t.Errorf("the clean topic holds %d copies of the redriven like (%v), want 1", copies, err)
	}
	if counts, err := itemCounts(popularityURL, "dune"); err != nil || counts["liked"] != 1 {
		t.Errorf("after the second redrive dune has %v (%v), want liked once", counts, err)
	}
	if _, err := itemCounts(popularityURL, "ulysses"); err == nil {
		t.Error("the too_old like was redriven")
	}
	if after := endOffsets(t, cluster, contract.DefaultTopic(contract.TopicRaw)); after != rawBefore+1 {
		t.Errorf("the raw topic grew by %d records, want exactly the one redriven like", after-rawBefore)
	}
	ls := plugin("dlq", "ls")
	if !hasLine(ls, "too_old", "1") || !hasLine(ls, "time_in_future", "1") {
		t.Errorf("dead letters are kept after a redrive, want both still listed:\n%s", ls)
	}
	status := plugin("status")
	if !hasLine(status, "local", "True") {
		t.Errorf("status:\n%s", status)
	}
	top := plugin("top", "-n", "5")
	if !strings.Contains(top, "dune") || !strings.Contains(top, "emma") {
		t.Errorf("top:\n%s", top)
	}
}

func TestRedriveNeedsAReason(t *testing.T) {
	cluster := popularitytest.NewCluster(t, 1)
	var out bytes.Buffer
	err := run(context.Background(), []string{"--local", "--kafka", strings.Join(cluster.Brokers, ","), "dlq", "redrive"}, &out)
	if err == nil || !strings.Contains(err.Error(), "--reason") {
		t.Fatalf("redrive without a reason: %v, want an error naming --reason", err)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2h", now.Add(-2 * time.Hour), true},
		{"2026-12-01T00:00:00Z", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), true},
		{"-2h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
	} {
		got, err := parseSince(tt.in, now)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func quiet(t *testing.T) serve.Options {
	t.Helper()
	return serve.Options{Logger: slog.New(slog.DiscardHandler), Listener: listen(t)}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// startPopularity runs popularity on cluster and returns its URL once it is ready.
func startPopularity(t *testing.T, cluster *popularitytest.Cluster) string {
	t.Helper()
	cfg := cluster.Config("redrive")
	opts := quiet(t)
	url := "http://" + opts.Listener.Addr().String()
	popularitytest.Start(t, serve.ComponentFunc(func(ctx context.Context) error { return popularity.Run(ctx, cfg, opts) }))
	kafkatest.Eventually(t, waitFor, func() error {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %s", resp.Status)
		}
		return nil
	})
	return url
}

// like returns a like of item with id and time, as ingest writes it to the raw topic.
func like(id, item string, at time.Time) cloudevents.Event {
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetSource("urn:recoflow:redrive-test")
	e.SetType(contract.ActionLiked.Type())
	e.SetSubject(item)
	e.SetTime(at)
	_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: "u-" + id, ItemID: item})
	return e
}

// produce writes events to the raw topic as ingest does.
func produce(t *testing.T, cluster *popularitytest.Cluster, events ...cloudevents.Event) {
	t.Helper()
	client, err := sarama.NewClient(cluster.Brokers, kafka.NewSaramaConfig("redrive-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	producer, err := kafka.NewProducer(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := kafka.NewSink(producer, contract.DefaultTopic(contract.TopicRaw)).SendEvents(context.Background(), events...); cloudevents.IsUndelivered(err) {
		t.Fatal(err)
	}
}

// endOffsets returns the sum of the end offsets of topic's partitions.
func endOffsets(t *testing.T, cluster *popularitytest.Cluster, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(cluster.Brokers, kafka.NewSaramaConfig("redrive-test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		sum += end
	}
	return sum
}

// itemCounts returns popularity's counts of item, or an error when it does not know the item.
func itemCounts(base, item string) (map[string]int64, error) {
	resp, err := http.Get(base + "/v1/items/" + item)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/items/%s: %s", item, resp.Status)
	}
	var it struct {
		Counts map[string]int64 `json:"counts"`
	}
	return it.Counts, json.NewDecoder(resp.Body).Decode(&it)
}

// hasLine reports whether some line of out starts with first and has second as its next field.
func hasLine(out, first, second string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == first && f[1] == second {
			return true
		}
	}
	return false
}
