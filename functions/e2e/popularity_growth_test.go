package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/contract"
	"github.com/recoflow/recoflow/functions/kafka"
	"github.com/recoflow/recoflow/functions/kafka/kafkatest"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// TestPopularityPartitionGrowthKeepsCountsExact grows the clean and popularity topics while
// events stream in, as a user raising spec.topics.partitions does. Items whose ids now hash to a
// new partition get their new events there, beside the state their old partition keeps; every
// count and score served is still exactly what the events say.
func TestPopularityPartitionGrowthKeepsCountsExact(t *testing.T) {
	scene := newPopScene(t, 2, "grow", 51, 80)
	popularitytest.Start(t, popularity.NewProcessor(scene.cfg, popOptions()))
	stop := scene.stream(t)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if scene.model.Events() < 500 {
			return fmt.Errorf("%d events so far", scene.model.Events())
		}
		return scene.check()
	})
	stop()

	admin, err := sarama.NewClusterAdmin(scene.cluster.Brokers, kafka.NewSaramaConfig("grow-admin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, role := range []contract.TopicRole{contract.TopicClean, contract.TopicPopularity} {
		if err := admin.CreatePartitions(contract.DefaultTopic(role), 5, nil, false); err != nil {
			t.Fatalf("grow %s: %v", contract.DefaultTopic(role), err)
		}
	}
	// A new publisher sees the new partitions at once.
	before := scene.model.Events()
	stop = scene.cluster.NewPublisher(t).Stream(t, scene.gen, scene.model, 25)
	kafkatest.Eventually(t, 30*time.Second, func() error {
		if n := scene.model.Events() - before; n < 1000 {
			return fmt.Errorf("%d events since the growth", n)
		}
		return nil
	})
	stop()
	kafkatest.Eventually(t, 30*time.Second, scene.check)

	// The test means something only if some item has events on an old and a new partition.
	partitions := map[string]map[int32]bool{}
	for _, r := range kafkatest.Records(t, scene.cluster.Cluster, contract.DefaultTopic(contract.TopicClean)) {
		if partitions[string(r.Key)] == nil {
			partitions[string(r.Key)] = map[int32]bool{}
		}
		partitions[string(r.Key)][r.Partition] = true
	}
	moved := 0
	for _, ps := range partitions {
		if len(ps) > 1 {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no item has events on two partitions: the growth moved nothing")
	}
	t.Logf("%d events over %d items, %d of them on two partitions", scene.model.Events(), scene.model.Items(), moved)
}
