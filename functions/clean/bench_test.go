package clean_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/recoflow/recoflow/functions/clean"
	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/event"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/serve"
)

// BenchmarkHandle measures cleaning one event, without Kafka: validation, time rules,
// normalisation and both de-duplication lookups.
func BenchmarkHandle(b *testing.B) {
	f := clean.New(config.DefaultClean(), prometheus.NewRegistry())
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		e := cloudevents.NewEvent()
		e.SetID(fmt.Sprint("e", i))
		e.SetSource("bench")
		e.SetType(contract.TypeLiked)
		e.SetTime(now)
		_ = e.SetData(cloudevents.ApplicationJSON, []byte(fmt.Sprintf(`{"user_id":"u%d","item_id":"i%d","category":"Books","user":{"age":30,"gender":"f"}}`, i, i%5000)))
		if _, err := f.Handle(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClean measures the clean function end to end on an in-process broker: b.N raw
// events are waiting on the raw topic (6 partitions) when clean starts, and the clock stops when
// clean has committed all of them, that is when every clean event is acknowledged.
func BenchmarkClean(b *testing.B) {
	c := kafkatest.NewCluster(b)
	common := config.DefaultCommon()
	common.Brokers = c.ListenAddrs()
	admin, err := sarama.NewClusterAdmin(common.Brokers, kafka.NewSaramaConfig("bench-admin"))
	if err != nil {
		b.Fatal(err)
	}
	for _, topic := range []string{common.Topics.Raw, common.Topics.Clean, common.Topics.DeadLetter} {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 6, ReplicationFactor: 1}, false); err != nil {
			b.Fatal(err)
		}
	}
	_ = admin.Close()

	producer, err := kafka.NewProducer(kafkatest.Client(b, c))
	if err != nil {
		b.Fatal(err)
	}
	sink := kafka.NewSink(producer, common.Topics.Raw)
	now := time.Now()
	for start := 0; start < b.N; start += 1000 {
		events := make([]cloudevents.Event, 0, 1000)
		for i := start; i < min(start+1000, b.N); i++ {
			e := cloudevents.NewEvent()
			e.SetID(fmt.Sprint("e", i))
			e.SetSource("bench")
			e.SetType(contract.TypeLiked)
			e.SetSubject(fmt.Sprint("i", i%5000))
			e.SetTime(now)
			_ = e.SetData(cloudevents.ApplicationJSON, event.Interaction{UserID: fmt.Sprint("u", i), ItemID: fmt.Sprint("i", i%5000), Title: "A title", Category: "Books"})
			events = append(events, e)
		}
		if res := sink.SendEvents(context.Background(), events...); !cloudevents.IsACK(res) {
			b.Fatal(res)
		}
	}
	_ = producer.Close()

	cfg := config.DefaultClean()
	cfg.Common = common
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu := cpuTime()
	b.ResetTimer()
	go func() {
		done <- clean.Run(ctx, cfg, serve.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Listener: ln})
	}()
	kafkatest.WaitCommitted(b, c, cfg.Group, common.Topics.Raw, 10*time.Minute)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/event")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// cpuTime returns the CPU time the process has used, user and system, broker included.
func cpuTime() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
