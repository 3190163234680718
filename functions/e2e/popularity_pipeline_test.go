package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// TestPopularityServesWhatIngestAccepted posts a random mix of events to ingest in every
// CloudEvents mode, with client retries and invalid events among them, and reads popularity's
// HTTP API: the top-N lists and every item's counts and score equal a brute-force computation
// over the events ingest accepted, each counted once.
func TestPopularityServesWhatIngestAccepted(t *testing.T) {
	p := startPipeline(t, nil)
	cfg, base := p.startPopularity(t)

	ctx := t.Context()
	sender, err := cloudevents.NewClientHTTP(cloudevents.WithTarget(p.ingestURL))
	if err != nil {
		t.Fatal(err)
	}
	send := func(ctx context.Context, e cloudevents.Event) int {
		t.Helper()
		result := sender.Send(ctx, e)
		var status *cehttp.Result
		if !cloudevents.ResultAs(result, &status) {
			t.Fatalf("send %s: %v", e.ID(), result)
		}
		return status.StatusCode
	}
	gen := popularitytest.NewGenerator(61, 60, time.Now())
	model := popularitytest.NewModel(cfg)
	events := gen.ClientEvents(450)
	var batch []cloudevents.Event
	for i, e := range events {
		switch i % 3 {
		case 0:
			if code := send(ctx, e); code != http.StatusAccepted {
				t.Fatalf("binary event %d: %d, want 202", i, code)
			}
			model.Add(e)
		case 1:
			if code := send(cloudevents.WithEncodingStructured(ctx), e); code != http.StatusAccepted {
				t.Fatalf("structured event %d: %d, want 202", i, code)
			}
			model.Add(e)
		default:
			batch = append(batch, e)
		}
	}
	for len(batch) > 0 {
		n := min(len(batch), 40)
		body, err := json.Marshal(batch[:n])
		if err != nil {
			t.Fatal(err)
		}
		code, answer, _, err := p.post("/", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, string(body))
		if err != nil || code != http.StatusAccepted {
			t.Fatalf("batch: %d %v %v, want 202", code, answer, err)
		}
		model.Add(batch[:n]...)
		batch = batch[n:]
	}
	// A client retrying accepted events counts once; invalid events never count.
	for _, e := range events[:30] {
		if code := send(ctx, e); code != http.StatusAccepted {
			t.Fatalf("retry of %s: %d, want 202", e.ID(), code)
		}
	}
	for i, e := range events[:10] {
		bad := e.Clone()
		bad.SetID(fmt.Sprintf("invalid-%d", i))
		_ = bad.SetData(cloudevents.ApplicationJSON, event.Interaction{ItemID: e.Subject()}) // no user_id
		if code := send(ctx, bad); code != http.StatusBadRequest {
			t.Fatalf("invalid event: %d, want 400", code)
		}
	}

	served := popularitytest.HTTPRanking{BaseURL: base, HalfLife: cfg.HalfLife, Client: p.client}
	kafkatest.Eventually(t, waitFor, func() error { return model.Check(served, time.Now()) })
	want := fmt.Sprintf("recoflow_popularity_events_applied_total %d\n", model.Events())
	kafkatest.Eventually(t, waitFor, func() error { return popMetric(p.client, base+"/metrics", want) })
	t.Logf("%d accepted events over %d items served exactly", model.Events(), model.Items())
}

func popStatus(client *http.Client, url string, want int) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s, want %d", url, resp.StatusCode, body, want)
	}
	return nil
}

func popMetric(client *http.Client, url, line string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !strings.Contains(string(body), line) {
		return fmt.Errorf("metrics lack %q", strings.TrimSpace(line))
	}
	return nil
}
