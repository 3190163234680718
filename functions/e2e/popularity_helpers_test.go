package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// popScene is a broker with the pipeline's topics, a publisher streaming random clean events to
// it, the brute-force model of those events, and a running view to check the model against.
type popScene struct {
	cluster *popularitytest.Cluster
	cfg     config.Popularity
	pub     *popularitytest.Publisher
	gen     *popularitytest.Generator
	model   *popularitytest.Model
	view    *popularity.View
	// metrics are the view's.
	metrics *popularity.Metrics
}

// newPopScene starts a scene whose topics have the given partitions, with settings for instance
// and events about items items, drawn from seed.
func newPopScene(t *testing.T, partitions int32, instance string, seed uint64, items int) *popScene {
	t.Helper()
	cluster := popularitytest.NewCluster(t, partitions)
	s := &popScene{
		cluster: cluster,
		cfg:     cluster.Config(instance),
		pub:     cluster.NewPublisher(t),
		gen:     popularitytest.NewGenerator(seed, items, time.Now()),
	}
	s.model = popularitytest.NewModel(s.cfg)
	viewOpts := popOptions()
	viewOpts.Metrics = popularity.NewMetrics(prometheus.NewRegistry())
	s.metrics = viewOpts.Metrics
	s.view = popularity.NewView(s.cfg, viewOpts)
	popularitytest.Start(t, s.view)
	return s
}

// stream publishes events until stop is called.
func (s *popScene) stream(t *testing.T) (stop func()) {
	return s.pub.Stream(t, s.gen, s.model, 25)
}

// check compares what the view serves with the model.
func (s *popScene) check() error { return s.model.Check(s.view, time.Now()) }

// popOptions are the options of every processor and view the tests start: short group timeouts.
func popOptions() popularity.Options {
	return popularity.Options{Sarama: popularitytest.FastGroups}
}

// waitGroupEmpty waits until group has no member left, live or dead: until the broker has
// expired the sessions of the instances killed before.
func waitGroupEmpty(t *testing.T, cluster *popularitytest.Cluster, group string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	info, err := cluster.WaitGroupInfo(ctx, group, func(g *kfake.GroupInfo) bool { return g == nil || len(g.Members) == 0 })
	if err != nil {
		t.Fatalf("group %s still in state %s with %d members: %v", group, info.State, len(info.Members), err)
	}
}

// startPopChild starts a processor child for cfg that kills itself as spec says.
func startPopChild(t *testing.T, cfg config.Popularity, spec string) *kafkatest.Child {
	t.Helper()
	return kafkatest.StartChild(t, "TestPopularityChildProcess",
		popChildEnv+"="+spec,
		contract.EnvKafkaBrokers+"="+strings.Join(cfg.Brokers, ","),
		contract.EnvInstanceID+"="+cfg.InstanceID,
		contract.EnvConsumerGroup+"="+cfg.Group,
		contract.EnvPopularityFlushInterval+"="+cfg.FlushInterval.String(),
	)
}

// noOpenTransaction checks that no transaction is open on topic: its last stable offsets equal
// its high water marks.
func noOpenTransaction(brokers []string, topic string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := kafka.NewLogReader(brokers, config.KafkaAuth{}, "open-transactions", topic, 10*time.Millisecond)
	if err != nil {
		return err
	}
	defer r.Close()
	partitions, err := r.TopicPartitions(ctx, topic)
	if err != nil {
		return err
	}
	stable, err := r.Offsets(ctx, partitions, kafka.OffsetEnd, true)
	if err != nil {
		return err
	}
	end, err := r.Offsets(ctx, partitions, kafka.OffsetEnd, false)
	if err != nil {
		return err
	}
	for _, p := range partitions {
		if stable[p] != end[p] {
			return fmt.Errorf("%s/%d: a transaction is open (last stable offset %d, end %d)", topic, p, stable[p], end[p])
		}
	}
	return nil
}

// restoreFetches counts, from now on, the fetches of processors restoring changelog partitions:
// read_committed fetches that name no topic but the changelog (an incremental fetch session
// names none) and wait less than the view's 500 ms (restores wait 100 ms). The consumers of the
// clean topic name theirs. It is the evidence that a restore keeps reading, not a clock.
func restoreFetches(t *testing.T, c *popularitytest.Cluster, topic string) *atomic.Int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil || len(resp.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	id := resp.Topics[0].TopicID
	var n atomic.Int64
	c.ControlKey(int16(kmsg.Fetch), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		f := r.(*kmsg.FetchRequest)
		if f.IsolationLevel != 1 || f.MaxWaitMillis >= 500 {
			return nil, nil, false
		}
		for _, ft := range f.Topics {
			if ft.Topic != topic && ft.TopicID != id {
				return nil, nil, false
			}
		}
		n.Add(1)
		return nil, nil, false
	})
	return &n
}

// atLeast returns a condition for kafkatest.Eventually: n has reached min.
func atLeast(n *atomic.Int64, min int64, what string) func() error {
	return func() error {
		if got := n.Load(); got < min {
			return fmt.Errorf("%s: %d of %d", what, got, min)
		}
		return nil
	}
}

// readyOr returns a condition that holds once p is ready or cond holds.
func readyOr(p *popularity.Processor, cond func() error) func() error {
	return func() error {
		if p.Ready() {
			return nil
		}
		return cond()
	}
}
