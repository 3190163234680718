package ingest_test

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
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
//   - raw-best: the fastest of a grid of sarama AsyncProducers tuned for throughput, all
//     idempotent with acks=all and so one request in flight per broker (sarama refuses more with
//     idempotence): every compression codec, a linger (Flush.Frequency) of 0, 1 or 5 ms with
//     flushes at 1 MiB or 10,000 records, and 800 to 65,536 records in flight (ChannelBufferSize
//     as large). MaxMessageBytes is ingest's (1 MiB + 64 KiB), which is also as large as a batch
//     may be: the topic takes at most 1 MiB per batch.
//
// The grid runs first, each setting once (raw-grid-max is the fastest run: the luckiest of some
// fifty, so an overestimate on a machine whose speed varies). Then batch, the grid's three
// fastest settings and ingest's settings run in turn, five rounds, and each is the median of its
// five runs: measured equally often, in the same moments, and a run that a stall of the machine
// slowed does not decide. raw-best is the fastest of those medians, ingest's settings included.
//
// It reports each rate, the CPU time per event of each (the whole process: clients, ingest and
// broker), and the ratios batch/raw-best, batch/raw-ingest and batch/raw-grid-max. Run it with
// -benchtime 1x: one iteration measures everything (docs/benchmarks.md).
func BenchmarkBatchVersusRawProducer(b *testing.B) {
	const (
		events   = 60_000
		batch    = 100
		clients  = 8
		inFlight = batch * clients
		rounds   = 5
		// finalistCount is how many of the grid's fastest settings are measured again.
		finalistCount = 3
	)
	c := kafkatest.NewPipelineCluster(b)
	cfg := config.DefaultIngest()
	cfg.Brokers = c.ListenAddrs()
	url := startIngest(b, cfg)

	records := benchRecords(b, events, cfg.Topics.Raw)
	bodies := benchBatches(records, batch)
	rawConfig := func(tune func(*sarama.Config)) *sarama.Config {
		sc := kafka.NewSaramaConfig("bench-raw")
		ingest.ProducerConfig(sc)
		if tune != nil {
			tune(sc)
		}
		return sc
	}
	type setting struct {
		name     string
		inFlight int
		tune     func(*sarama.Config)
	}
	var grid []setting
	for _, codec := range []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionLZ4, sarama.CompressionSnappy, sarama.CompressionZSTD, sarama.CompressionGZIP} {
		for _, linger := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
			for _, n := range []int{inFlight, 4096, 16384, 65536} {
				if codec == sarama.CompressionGZIP && (linger != 0 || n < 16384) {
					continue // gzip is the slowest codec; one point shows it
				}
				grid = append(grid, setting{
					name:     fmt.Sprintf("%s, linger %s, %d in flight", codec, linger, n),
					inFlight: n,
					tune: func(c *sarama.Config) {
						c.Producer.Compression = codec
						c.ChannelBufferSize = n
						if linger > 0 {
							c.Producer.Flush.Frequency = linger
							c.Producer.Flush.Bytes = 1 << 20
							c.Producer.Flush.Messages = 10_000
						}
					},
				})
			}
		}
	}
	postBatches(b, url, bodies, clients) // warm up: connections, buffers and the broker's logs
	for b.Loop() {
		// Selection: every setting once; the three fastest go on, lest one lucky run decide.
		gridRuns := make([]run, len(grid))
		for i, g := range grid {
			gridRuns[i] = measureRun(len(records), func() { produceRaw(b, c.ListenAddrs(), rawConfig(g.tune), records, g.inFlight) })
		}
		order := make([]int, len(grid))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(i, j int) int { return cmp.Compare(gridRuns[j].rate, gridRuns[i].rate) })
		gridMax := gridRuns[order[0]].rate
		finalists := order[:finalistCount]

		// Evaluation: batch ingest, the finalists and ingest's settings in turn, rounds times.
		batchRuns := make([]run, 0, rounds)
		ingestRuns := make([]run, 0, rounds)
		finalRuns := make([][]run, len(finalists))
		for round := range rounds {
			batchRuns = append(batchRuns, measureRun(len(records), func() { postBatches(b, url, bodies, clients) }))
			line := fmt.Sprintf("round %d: batch ingest %v", round+1, batchRuns[round])
			for i, f := range finalists {
				g := grid[f]
				finalRuns[i] = append(finalRuns[i], measureRun(len(records), func() { produceRaw(b, c.ListenAddrs(), rawConfig(g.tune), records, g.inFlight) }))
				line += fmt.Sprintf(", %s %v", g.name, finalRuns[i][round])
			}
			ingestRuns = append(ingestRuns, measureRun(len(records), func() { produceRaw(b, c.ListenAddrs(), rawConfig(nil), records, inFlight) }))
			b.Logf("%s, ingest's settings %v", line, ingestRuns[round])
		}
		batchRate, batchCPU := median(batchRuns)
		ingestRate, ingestCPU := median(ingestRuns)
		// The best raw producer is the fastest measured: a finalist, or ingest's settings.
		bestRate, bestCPU, bestName := ingestRate, ingestCPU, "ingest's settings"
		for i, f := range finalists {
			if rate, cpu := median(finalRuns[i]); rate > bestRate {
				bestRate, bestCPU, bestName = rate, cpu, grid[f].name
			}
		}
		b.ReportMetric(batchRate, "batch-events/s")
		b.ReportMetric(ingestRate, "raw-ingest-events/s")
		b.ReportMetric(bestRate, "raw-best-events/s")
		b.ReportMetric(gridMax, "raw-grid-max-events/s")
		b.ReportMetric(batchRate/bestRate, "batch/raw-best")
		b.ReportMetric(batchRate/ingestRate, "batch/raw-ingest")
		b.ReportMetric(batchRate/gridMax, "batch/raw-grid-max")
		b.Logf("batch %.0f events/s (%.1f CPU-µs/event); raw with ingest's settings %.0f (%.1f); best raw %.0f (%.1f; %s; %.0f in the grid)",
			batchRate, batchCPU, ingestRate, ingestCPU, bestRate, bestCPU, bestName, gridMax)
	}
}

// run is the outcome of one measured run: events per second and CPU-µs per event.
type run struct{ rate, cpu float64 }

func (r run) String() string { return fmt.Sprintf("%.0f events/s (%.1f CPU-µs/event)", r.rate, r.cpu) }

// measureRun is measure as a run.
func measureRun(events int, f func()) run {
	rate, cpu := measure(events, f)
	return run{rate, cpu}
}

// median returns the run of median rate among runs, an odd number of them.
func median(runs []run) (rate, cpu float64) {
	sorted := slices.SortedFunc(slices.Values(runs), func(a, b run) int { return cmp.Compare(a.rate, b.rate) })
	m := sorted[len(sorted)/2]
	return m.rate, m.cpu
}

// measure runs f, which handles events events, and returns the events per second and the
// process's CPU time per event in microseconds.
func measure(events int, f func()) (rate, cpuMicros float64) {
	cpu := cpuTime()
	start := time.Now()
	f()
	elapsed := time.Since(start)
	return float64(events) / elapsed.Seconds(), float64((cpuTime() - cpu).Microseconds()) / float64(events)
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
		e.SetType(contract.TypeLiked)
		e.SetSubject(fmt.Sprintf("i%d", i%5000))
		data := fmt.Sprintf(`{"user_id":"u%d","item_id":"i%d","title":"A title","category":"books"}`, i%100000, i%5000)
		e.DataEncoded = []byte(data)
		e.SetDataContentType(cloudevents.ApplicationJSON)
		record, err := sink.Record(context.Background(), &e)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = benchRecord{
			json:   fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"bench","type":%q,"subject":"i%d","data":%s}`, e.ID(), contract.TypeLiked, i%5000, data),
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
