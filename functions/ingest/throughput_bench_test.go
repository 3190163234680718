package ingest_test

import (
	"context"
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
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/ingest"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/serve"
)

// BenchmarkBatchVersusRawProducer measures, side by side on one embedded broker in one process,
// how many events per second reach the raw topic:
//
//   - batch: ingest as it runs in production (ingest.Run), taking batches of 100 structured
//     events from 8 concurrent HTTP clients;
//   - raw-ingest: one sarama AsyncProducer with ingest's own settings and as many records in
//     flight as the batch clients have (800), producing the same records without HTTP;
//   - raw-best: the best of a grid of sarama AsyncProducers tuned for throughput (still
//     idempotent, acks=all): compression, linger and records in flight.
//
// It reports each rate and the ratios batch/raw-best and batch/raw-ingest. Run it with
// -benchtime 1x: one iteration measures everything (docs/benchmarks.md).
func BenchmarkBatchVersusRawProducer(b *testing.B) {
	const (
		events   = 60_000
		batch    = 100
		clients  = 8
		inFlight = batch * clients
	)
	c := kafkatest.NewPipelineCluster(b)
	cfg := config.DefaultIngest()
	cfg.Brokers = c.ListenAddrs()
	url := startIngest(b, cfg)

	records := benchRecords(b, events, cfg.Topics.Raw)
	bodies := benchBatches(records, batch)
	raw := func(tune func(*sarama.Config), inFlight int) float64 {
		sc := kafka.NewSaramaConfig("bench-raw")
		ingest.ProducerConfig(sc, cfg)
		if tune != nil {
			tune(sc)
		}
		return produceRaw(b, c.ListenAddrs(), sc, records, inFlight)
	}
	grid := []struct {
		name string
		tune func(*sarama.Config)
	}{
		{"none", func(c *sarama.Config) {}},
		{"lz4", func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionLZ4 }},
		{"snappy", func(c *sarama.Config) { c.Producer.Compression = sarama.CompressionSnappy }},
		{"none, 2ms linger", func(c *sarama.Config) { c.Producer.Flush.Frequency = 2 * time.Millisecond }},
		{"lz4, 2ms linger, 1 MiB", func(c *sarama.Config) {
			c.Producer.Compression = sarama.CompressionLZ4
			c.Producer.Flush.Frequency = 2 * time.Millisecond
			c.Producer.Flush.Bytes = 1 << 20
		}},
	}
	for b.Loop() {
		var batchRates []float64
		batchRates = append(batchRates, postBatches(b, url, bodies, clients))
		rawIngest := raw(nil, inFlight)
		best, bestName := 0.0, ""
		for _, g := range grid {
			for _, n := range []int{inFlight, 4096, 16384} {
				tune := func(c *sarama.Config) { g.tune(c); c.ChannelBufferSize = max(c.ChannelBufferSize, n) }
				if rate := raw(tune, n); rate > best {
					best, bestName = rate, fmt.Sprintf("%s, %d in flight", g.name, n)
				}
			}
		}
		batchRates = append(batchRates, postBatches(b, url, bodies, clients))
		batchRate := (batchRates[0] + batchRates[1]) / 2
		b.ReportMetric(batchRate, "batch-events/s")
		b.ReportMetric(rawIngest, "raw-ingest-events/s")
		b.ReportMetric(best, "raw-best-events/s")
		b.ReportMetric(batchRate/best, "batch/raw-best")
		b.ReportMetric(batchRate/rawIngest, "batch/raw-ingest")
		b.Logf("batch %.0f and %.0f events/s; raw with ingest's settings %.0f; best raw %.0f (%s)", batchRates[0], batchRates[1], rawIngest, best, bestName)
	}
}

// startIngest runs ingest.Run with cfg on a local port until the benchmark ends and returns its
// base URL once it is ready.
func startIngest(b *testing.B, cfg config.Ingest) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ingest.Run(ctx, cfg, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln})
	}()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	url := "http://" + ln.Addr().String()
	kafkatest.Eventually(b, 30*time.Second, func() error {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("ingest not ready: %d", resp.StatusCode)
		}
		return nil
	})
	return url
}

// benchRecord is one event of the benchmark: its structured JSON and its raw-topic record.
type benchRecord struct {
	json   string
	record *sarama.ProducerMessage
}

// benchRecords makes n liked events on 5,000 items, each encoded as ingest stores it.
func benchRecords(b *testing.B, n int, topic string) []benchRecord {
	b.Helper()
	sink := kafka.NewSink(nil, topic)
	out := make([]benchRecord, n)
	for i := range out {
		e := cloudevents.NewEvent()
		e.SetID(fmt.Sprintf("bench-%d", i))
		e.SetSource("bench")
		e.SetType(event.TypeLiked)
		e.SetSubject(fmt.Sprintf("i%d", i%5000))
		data := fmt.Sprintf(`{"user_id":"u%d","item_id":"i%d","title":"A title","category":"books"}`, i%100000, i%5000)
		e.DataEncoded = []byte(data)
		e.SetDataContentType(cloudevents.ApplicationJSON)
		record, err := sink.Record(context.Background(), &e)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchRecord{
			json:   fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"bench","type":%q,"subject":"i%d","data":%s}`, e.ID(), event.TypeLiked, i%5000, data),
			record: record,
		}
	}
	return out
}

// benchBatches joins the events into batch bodies of size events each.
func benchBatches(records []benchRecord, size int) []string {
	var bodies []string
	for i := 0; i < len(records); i += size {
		var sb strings.Builder
		sb.WriteByte('[')
		for j := i; j < min(i+size, len(records)); j++ {
			if j > i {
				sb.WriteByte(',')
			}
			sb.WriteString(records[j].json)
		}
		sb.WriteByte(']')
		bodies = append(bodies, sb.String())
	}
	return bodies
}

// postBatches posts every body to ingest from clients concurrent clients and returns the events
// stored per second.
func postBatches(b *testing.B, url string, bodies []string, clients int) float64 {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	next := make(chan string, len(bodies))
	for _, body := range bodies {
		next <- body
	}
	close(next)
	start := time.Now()
	var wg sync.WaitGroup
	events := 0
	var mu sync.Mutex
	for range clients {
		wg.Go(func() {
			for body := range next {
				resp, err := client.Post(url+"/", "application/cloudevents-batch+json", strings.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("batch answered %d", resp.StatusCode)
					return
				}
				mu.Lock()
				events += strings.Count(body, `"specversion"`)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return float64(events) / time.Since(start).Seconds()
}

// produceRaw produces copies of the records with a sarama AsyncProducer configured by cfg,
// at most inFlight unacknowledged at a time, and returns the records acknowledged per second.
func produceRaw(b *testing.B, brokers []string, cfg *sarama.Config, records []benchRecord, inFlight int) float64 {
	b.Helper()
	producer, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		b.Fatal(err)
	}
	slots := make(chan struct{}, inFlight)
	var acks sync.WaitGroup
	acks.Go(func() {
		for range producer.Successes() {
			<-slots
		}
	})
	acks.Go(func() {
		for perr := range producer.Errors() {
			b.Error(perr.Err)
			<-slots
		}
	})
	start := time.Now()
	for _, r := range records {
		m := *r.record
		slots <- struct{}{}
		producer.Input() <- &m
	}
	producer.AsyncClose()
	acks.Wait()
	return float64(len(records)) / time.Since(start).Seconds()
}
