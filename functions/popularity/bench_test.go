package popularity_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// BenchmarkProcessor measures end-to-end consumption: the clean topic is filled with b.N events
// (about 10,000 distinct items, 4 partitions) on the embedded broker, then a processor starts,
// and the clock runs from the moment it has restored its partitions until it has committed the
// offsets of every event in its transactions. It reports events/s. Run it with a fixed count,
// such as -benchtime=300000x, so the fill is done once.
func BenchmarkProcessor(b *testing.B) {
	cluster := popularitytest.NewCluster(b, 4)
	cfg := cluster.Config("bench")
	cfg.FlushInterval = time.Second
	pub := cluster.NewPublisher(b)
	gen := popularitytest.NewGenerator(7, 10_000, time.Now())
	ctx := context.Background()
	for left := b.N; left > 0; left -= 5000 {
		if err := pub.Publish(ctx, gen.Events(min(left, 5000))...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	b.StopTimer()
	proc := popularity.NewProcessor(cfg, popularity.Options{})
	popularitytest.Start(b, proc)
	kafkatest.Eventually(b, time.Minute, func() error {
		if !proc.Ready() {
			return errors.New("the processor has not restored its partitions")
		}
		return nil
	})
	start, cpuStart := time.Now(), cpuTime(b)
	b.StartTimer()
	kafkatest.WaitCommitted(b, cluster.Cluster, cfg.Group, cfg.Topics.Clean, 10*time.Minute)
	b.StopTimer()
	elapsed, cpu := time.Since(start), cpuTime(b)-cpuStart
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	// The process's CPU time per event, broker included: what the rate would be on one core of
	// its own, whatever else the machine is running.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
}

// cpuTime returns the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
